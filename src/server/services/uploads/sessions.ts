import { z } from "zod";
import type { Actor } from "~/server/auth/actor";
import { db } from "~/server/db/client";
import type { Prisma, UploadSession } from "~/server/db/generated/client";
import { DomainError } from "~/server/errors";
import { findServableBlob } from "~/server/services/blobs";
import { entryName } from "~/server/services/names";
import { issueChallenge, type Challenge } from "./challenge";
import { MAX_CHUNK_BYTES, MIN_CHUNK_BYTES, throttles } from "./limits";
import { assertOpen, endSession, expiry, isGone, openSession, uploadGone } from "./session-lifecycle";
import { hitThrottle } from "./throttle";

// The chunked upload API's sessions (API.md, "Upload sessions"): init (with resume and 秒传
// challenges), status, the list of pending uploads, abort. Durable in MariaDB, owned by one user,
// reserving quota from init until they complete, abort or expire; their state changes only through
// session-lifecycle.ts.

export const uploadIdSchema = z.string().min(1).max(64);
const sha256Schema = z
  .string()
  .regex(/^[0-9a-fA-F]{64}$/, "sha256 must be 64 hex digits")
  .transform((s) => s.toLowerCase());

export const initInput = z.object({
  name: entryName,
  size: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  parentId: z.string().min(1).max(32).nullish(),
  sha256: sha256Schema.optional(),
  chunkSize: z.number().int().min(MIN_CHUNK_BYTES).max(MAX_CHUNK_BYTES).optional(),
});
export type InitInput = z.infer<typeof initInput>;

export type InitResult =
  | { uploadId: string; chunkSize: number; chunkCount: number; received: number[]; expiresAt: Date }
  | { uploadId: string; instant: { challengeId: string; ranges: Array<{ offset: number; length: number }> } };

/** The caller's chunked session, whatever its state; NOT_FOUND for anyone else's. */
export async function loadOwnedSession(actor: Actor, uploadId: string): Promise<UploadSession> {
  const session = await db.$primary().uploadSession.findFirst({
    where: { id: uploadId, ownerId: actor.userId, protocol: "chunked" },
  });
  if (!session) throw new DomainError("NOT_FOUND", "Upload not found");
  return session;
}

export async function receivedIndices(sessionId: string, tx: Prisma.TransactionClient | null = null): Promise<number[]> {
  const client = tx ?? db.$primary();
  const rows = await client.uploadChunk.findMany({ where: { sessionId }, select: { index: true }, orderBy: { index: "asc" } });
  return rows.map((r) => r.index);
}

function normalShape(session: UploadSession, received: number[]): InitResult {
  return {
    uploadId: session.id,
    chunkSize: session.chunkSize,
    chunkCount: session.chunkCount,
    received,
    expiresAt: session.expiresAt,
  };
}

function instantShape(session: UploadSession, challenge: Challenge): InitResult {
  return { uploadId: session.id, instant: { challengeId: challenge.challengeId, ranges: challenge.ranges } };
}

export async function initUpload(actor: Actor, input: InitInput): Promise<InitResult> {
  const parentId = input.parentId ?? null;
  const claimed = input.sha256 ?? null;
  if (claimed) {
    const t = throttles.hashProbe;
    await hitThrottle(`upl:probe:${actor.userId}`, t.limit, t.windowSeconds, "uploads announcing a SHA-256");
  }

  // Resume: the same file announced again while its session is open.
  const now = new Date();
  const open = await db.$primary().uploadSession.findFirst({
    where: {
      ownerId: actor.userId,
      protocol: "chunked",
      state: "open",
      name: input.name,
      size: BigInt(input.size),
      claimedSha256: claimed,
      parentId,
      expiresAt: { gt: now },
    },
    orderBy: { createdAt: "desc" },
  });
  if (open) {
    const pendingChallenge = open.challengeBlobId !== null && open.challengeId !== null;
    if (pendingChallenge && claimed) {
      const blob = await findServableBlob(claimed, input.size);
      if (blob) {
        const challenge = issueChallenge(input.size);
        const resumed = await db.uploadSession.update({
          where: { id: open.id },
          data: { ...challenge.columns, challengeBlobId: blob.id, expiresAt: expiry() },
        });
        return instantShape(resumed, challenge);
      }
    }
    const resumed = await db.uploadSession.update({ where: { id: open.id }, data: { expiresAt: expiry() } });
    return normalShape(resumed, await receivedIndices(open.id));
  }

  // Issue 17 (transfer branch): 秒传 is offered only for content whose object is really there (a HEAD);
  // content whose bytes were lost is uploaded normally, and its commit repairs the blob.
  const blob = claimed ? await findServableBlob(claimed, input.size) : null;
  const challenge = blob ? issueChallenge(input.size) : null;
  const session = await openSession(actor, {
    protocol: "chunked",
    name: input.name,
    size: input.size,
    parentId,
    chunkSize: input.chunkSize,
    claimedSha256: claimed,
    // 秒传 sessions get their multipart upload only if they fall back to chunks (ensureMultipart).
    multipart: !challenge,
    columns: challenge && blob ? { ...challenge.columns, challengeBlobId: blob.id } : {},
  });
  return challenge ? instantShape(session, challenge) : normalShape(session, []);
}

export async function uploadStatus(actor: Actor, uploadId: string) {
  const session = await loadOwnedSession(actor, uploadId);
  if (isGone(session)) throw uploadGone();
  return {
    uploadId: session.id,
    state: session.state,
    name: session.name,
    size: Number(session.size),
    chunkSize: session.chunkSize,
    chunkCount: session.chunkCount,
    received: await receivedIndices(session.id),
    expiresAt: session.expiresAt,
  };
}

export async function pendingUploads(actor: Actor) {
  const sessions = await db.$primary().uploadSession.findMany({
    where: { ownerId: actor.userId, protocol: "chunked", state: "open", expiresAt: { gt: new Date() } },
    orderBy: { createdAt: "desc" },
    take: 1000,
    include: { _count: { select: { chunks: true } } },
  });
  return sessions.map((s) => ({
    uploadId: s.id,
    name: s.name,
    size: Number(s.size),
    parentId: s.parentId,
    sha256: s.claimedSha256,
    chunkSize: s.chunkSize,
    chunkCount: s.chunkCount,
    receivedCount: s._count.chunks,
    createdAt: s.createdAt,
    expiresAt: s.expiresAt,
  }));
}

export async function abortUpload(actor: Actor, uploadId: string): Promise<{ ok: true }> {
  const session = await loadOwnedSession(actor, uploadId);
  // An expired but not yet swept session can still be aborted (its bytes go at once).
  assertOpen(session, new Date(0));
  if (!(await endSession(session, "aborted"))) throw new DomainError("CONFLICT", "This upload changed state meanwhile");
  return { ok: true };
}
