import { createHash, randomBytes } from "node:crypto";
import { env } from "~/env";
import type { Actor } from "~/server/auth/actor";
import { db, type Tx } from "~/server/db/client";
import { DomainError } from "~/server/errors";
import { assertAdmin } from "./roles";

// Sign-up invitations (SIGNUP_MODE=invite). An admin creates one and hands out its link; the code
// (128 random bits) is shown once and only its sha256 is stored. It signs up one account, then it
// is used up; it can also expire (INVITE_TTL_DAYS by default) or be revoked. The Invite row has one
// owner: this module.

const CODE_BYTES = 16;
export const INVITE_CODE = /^[A-Za-z0-9_-]{16,64}$/;

const hashCode = (code: string) => createHash("sha256").update(code, "utf8").digest("hex");

export type InviteState = "open" | "used" | "expired" | "revoked";

export interface InviteSummary {
  id: string;
  state: InviteState;
  createdAt: Date;
  expiresAt: Date;
  usedAt: Date | null;
  usedByUsername: string | null;
  createdByUsername: string;
}

const inviteInvalid = () =>
  new DomainError("FORBIDDEN", "This invitation is not valid: it was used, revoked or has expired", {
    details: { reason: "invite_invalid" },
  });

/** Uses up an invitation inside the sign-up transaction; its id, or FORBIDDEN. */
export async function claimInvite(tx: Tx, code: string, now = new Date()): Promise<string> {
  if (!INVITE_CODE.test(code)) throw inviteInvalid();
  const invite = await tx.invite.findUnique({ where: { codeHash: hashCode(code) }, select: { id: true } });
  if (!invite) throw inviteInvalid();
  const claimed = await tx.invite.updateMany({
    where: { id: invite.id, usedAt: null, revokedAt: null, expiresAt: { gt: now } },
    data: { usedAt: now },
  });
  if (claimed.count !== 1) throw inviteInvalid();
  return invite.id;
}

export function inviteUrl(code: string): string {
  const url = new URL("/signup", env.NEXTAUTH_URL);
  url.searchParams.set("invite", code);
  return url.toString();
}

export async function createInvite(
  actor: Actor,
  input: { expiresInDays?: number } = {},
  now = new Date(),
): Promise<{ id: string; code: string; url: string; expiresAt: Date }> {
  await assertAdmin(actor);
  const code = randomBytes(CODE_BYTES).toString("base64url");
  const expiresAt = new Date(now.getTime() + (input.expiresInDays ?? env.INVITE_TTL_DAYS) * 86_400_000);
  const invite = await db.invite.create({
    data: { codeHash: hashCode(code), createdById: actor.userId, expiresAt, createdAt: now },
    select: { id: true },
  });
  return { id: invite.id, code, url: inviteUrl(code), expiresAt };
}

function stateOf(invite: { usedAt: Date | null; revokedAt: Date | null; expiresAt: Date }, now: Date): InviteState {
  if (invite.usedAt) return "used";
  if (invite.revokedAt) return "revoked";
  return invite.expiresAt <= now ? "expired" : "open";
}

/** The newest 200 invitations, open ones first. */
export async function listInvites(actor: Actor, now = new Date()): Promise<InviteSummary[]> {
  await assertAdmin(actor);
  const rows = await db.$primary().invite.findMany({
    orderBy: { createdAt: "desc" },
    take: 200,
    select: {
      id: true,
      createdAt: true,
      expiresAt: true,
      usedAt: true,
      usedById: true,
      revokedAt: true,
      createdBy: { select: { username: true } },
    },
  });
  const usedIds = rows.map((r) => r.usedById).filter((id): id is string => id !== null);
  const users = usedIds.length
    ? await db.$primary().user.findMany({ where: { id: { in: usedIds } }, select: { id: true, username: true } })
    : [];
  const names = new Map(users.map((u) => [u.id, u.username]));
  const summaries = rows.map((r) => ({
    id: r.id,
    state: stateOf(r, now),
    createdAt: r.createdAt,
    expiresAt: r.expiresAt,
    usedAt: r.usedAt,
    usedByUsername: r.usedById ? (names.get(r.usedById) ?? null) : null,
    createdByUsername: r.createdBy.username,
  }));
  return [...summaries.filter((s) => s.state === "open"), ...summaries.filter((s) => s.state !== "open")];
}

/** Revokes an open invitation (NOT_FOUND for an unknown id; a used one stays used). */
export async function revokeInvite(actor: Actor, id: string, now = new Date()): Promise<void> {
  await assertAdmin(actor);
  const invite = await db.$primary().invite.findUnique({ where: { id }, select: { id: true } });
  if (!invite) throw new DomainError("NOT_FOUND", "No such invitation");
  await db.invite.updateMany({ where: { id, usedAt: null, revokedAt: null }, data: { revokedAt: now } });
}
