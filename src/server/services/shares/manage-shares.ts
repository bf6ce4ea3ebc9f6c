import { randomBytes } from "node:crypto";
import { db } from "~/server/db/client";
import { reads } from "~/server/db/reads";
import { DomainError } from "~/server/errors";
import { hashPassword } from "~/server/auth/passwords";
import { notFound, requireLiveEntry } from "~/server/services/files/tree";
import { isUsedUp } from "./share-access";

// share.create, share.list, share.revoke: the owner's side of share links.

/**
 * 32 random bytes, base64url: 256 bits, far beyond the 128 the API asks for. Never starting with
 * "-": a token is also a command-line argument (`filestore unshare <token>`, `save <token>`), where a
 * leading "-" reads as an option (1 token in 64 did; the draw costs under 0.03 bits).
 */
export function newShareToken(): string {
  for (;;) {
    const token = randomBytes(32).toString("base64url");
    if (!token.startsWith("-")) return token;
  }
}

export const shareUrl = (token: string) => `/s/${token}`;

export interface CreateShareInput {
  id: string;
  password?: string | null;
  expiresAt?: Date | null;
  maxDownloads?: number | null;
}

export async function createShare(ownerId: string, input: CreateShareInput, now = new Date()): Promise<{ token: string; url: string }> {
  const entry = await requireLiveEntry(db, ownerId, input.id);
  if (input.expiresAt && input.expiresAt <= now) throw new DomainError("BAD_REQUEST", "expiresAt must be in the future");
  const passwordHash = input.password ? await hashPassword(input.password) : null;
  const token = newShareToken();
  await db.share.create({
    data: {
      token,
      ownerId,
      entryId: entry.id,
      passwordHash,
      expiresAt: input.expiresAt ?? null,
      maxDownloads: input.maxDownloads ?? null,
    },
  });
  return { token, url: shareUrl(token) };
}

export type ShareState = "active" | "expired" | "used-up" | "in-trash";

export interface ShareSummary {
  token: string;
  url: string;
  entryId: string;
  entryName: string;
  kind: "file" | "folder";
  createdAt: Date;
  expiresAt: Date | null;
  maxDownloads: number | null;
  downloadCount: number;
  hasPassword: boolean;
  /** Why a link would not open right now ("active" when it does). */
  state: ShareState;
}

/** The owner's links that have not been revoked, newest first. */
export async function listShares(ownerId: string, now = new Date()): Promise<ShareSummary[]> {
  // The owner's own links and entries follow the owner's writes (a causal replica read); download
  // counts, which visitors' downloads change, may be behind by the replica's lag.
  const shares = await reads.forUser(ownerId, (client) =>
    client.share.findMany({
      where: { ownerId, revokedAt: null },
      include: { entry: { select: { name: true, kind: true, trashedAt: true } } },
      orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    }),
  );
  return shares.map((s) => ({
    token: s.token,
    url: shareUrl(s.token),
    entryId: s.entryId,
    entryName: s.entry.name,
    kind: s.entry.kind,
    createdAt: s.createdAt,
    expiresAt: s.expiresAt,
    maxDownloads: s.maxDownloads,
    downloadCount: s.downloadCount,
    hasPassword: s.passwordHash !== null,
    state:
      s.entry.trashedAt !== null
        ? "in-trash"
        : s.expiresAt !== null && s.expiresAt <= now
          ? "expired"
          : isUsedUp(s)
            ? "used-up"
            : "active",
  }));
}

export async function revokeShare(ownerId: string, token: string, now = new Date()): Promise<{ revoked: true }> {
  const n = await db.share.updateMany({ where: { token, ownerId, revokedAt: null }, data: { revokedAt: now } });
  if (n.count !== 1) throw notFound("Link not found");
  return { revoked: true };
}
