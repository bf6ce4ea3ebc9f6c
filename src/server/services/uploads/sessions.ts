import { randomBytes } from "node:crypto";
import { z } from "zod";
import type { Actor } from "~/server/auth/actor";
import { db } from "~/server/db/client";
import type { Prisma, UploadSession } from "~/server/db/generated/client";
import { DomainError } from "~/server/errors";
import { findServableBlob, scheduleObjectDiscard } from "~/server/services/blobs";
import { assertParentFolder } from "~/server/services/files/insert-file";
import { withTreeLock } from "~/server/services/files/tree-tx";
import { entryName } from "~/server/services/names";
import { release, reserve } from "~/server/services/quota";
import { getStorage, type StorageDriver } from "~/server/storage";
import { issueChallenge, type Challenge } from "./challenge";
import { uploadObjectKey } from "./keys";
import { EXPIRY_REFRESH_MS, MAX_CHUNK_BYTES, MIN_CHUNK_BYTES, sessionTtlMs, throttles } from "./limits";
import { planChunks } from "./plan";
import { dropLiveHash, setDigestSink } from "./live-hash";
import { storageError } from "./storage-errors";
import { tailPrefix } from "./tus/tail";
import { hitThrottle } from "./throttle";

// Upload sessions (API.md, "Upload sessions"): durable in MariaDB, owned by one user, reserving
// quota from init until they complete, abort or expire.

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

export function newUploadId(): string {
  return randomBytes(16).toString("base64url");
}

/** The caller's chunked session, whatever its state; NOT_FOUND for anyone else's. */
export async function loadOwnedSession(actor: Actor, uploadId: string): Promise<UploadSession> {
  const session = await db.$primary().uploadSession.findFirst({
    where: { id: uploadId, ownerId: actor.userId, protocol: "chunked" },
  });
  if (!session) throw new DomainError("NOT_FOUND", "Upload not found");
  return session;
}

/** An open, unexpired session; NOT_FOUND once it is gone, CONFLICT while it is being completed. */
export function assertOpen(session: UploadSession, now = new Date()): void {
  if (session.state === "completing" || session.state === "completed") {
    throw new DomainError("CONFLICT", "This upload is already completing or complete");
  }
  if (session.state !== "open" || session.expiresAt <= now) throw new DomainError("NOT_FOUND", "Upload not found or expired");
}

export async function receivedIndices(sessionId: string, tx: Prisma.TransactionClient | null = null): Promise<number[]> {
  const client = tx ?? db.$primary();
  const rows = await client.uploadChunk.findMany({ where: { sessionId }, select: { index: true }, orderBy: { index: "asc" } });
  return rows.map((r) => r.index);
}

function expiry(now = Date.now()): Date {
  return new Date(now + sessionTtlMs());
}

/**
 * Activity (a chunk, a tus PATCH) pushes the session's expiry out to a full TTL again, at most once
 * per EXPIRY_REFRESH_MS (an update per chunk would be a commit per chunk). Called before the body
 * flows, so the sweeper cannot end a session while bytes stream into it; `ended` is the error
 * when the session is no longer open.
 */
export async function keepAlive(session: UploadSession, ended: () => DomainError): Promise<void> {
  const expiresAt = expiry();
  if (session.expiresAt.getTime() > expiresAt.getTime() - EXPIRY_REFRESH_MS) return;
  const n = await db.$executeRaw`
    UPDATE UploadSession SET expiresAt = ${expiresAt}, updatedAt = NOW(3) WHERE id = ${session.id} AND state = 'open'`;
  if (n !== 1) throw ended();
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

/** Creates the storage multipart upload chunks are written into (where the backend needs one). */
export async function createMultipart(storage: StorageDriver, key: string, chunkSize: number): Promise<string> {
  try {
    // partSize lets the local driver write each chunk into its slot of one file (complete = rename).
    const { uploadId } = await storage.multipart.create(key, { partSize: chunkSize });
    return uploadId;
  } catch (e) {
    throw storageError(e);
  }
}

export interface NewSession {
  protocol: "chunked" | "tus";
  name: string;
  size: number;
  parentId: string | null;
  /** The client's wish; planChunks has the last word. */
  chunkSize?: number;
  claimedSha256?: string | null;
  /** Create the storage multipart upload now (every session with bytes to receive, but 秒传). */
  multipart: boolean;
  metadata?: Prisma.InputJsonValue;
  columns?: Partial<Prisma.UploadSessionUncheckedCreateInput>;
}

/**
 * Opens a session: plans its parts, creates its multipart upload, then checks the folder and
 * reserves the quota in one transaction (PAYLOAD_TOO_LARGE when it does not fit, NOT_FOUND for a
 * folder that is not the caller's). Shared by upload.init and tus creation.
 */
export async function createUploadSession(actor: Actor, input: NewSession): Promise<UploadSession> {
  const storage = getStorage();
  const { chunkSize, chunkCount } = planChunks(input.size, input.chunkSize, storage.capabilities);
  const id = newUploadId();
  const key = uploadObjectKey(id);
  const multipartId = input.multipart && input.size > 0 ? await createMultipart(storage, key, chunkSize) : null;
  try {
    // Lock order (tree-tx.ts): the owner's row, then the target folder.
    return await withTreeLock(actor.userId, async (tx) => {
      await assertParentFolder(tx, actor.userId, input.parentId);
      await reserve(tx, actor.userId, input.size);
      return tx.uploadSession.create({
        data: {
          id,
          ownerId: actor.userId,
          protocol: input.protocol,
          parentId: input.parentId,
          name: input.name,
          size: BigInt(input.size),
          claimedSha256: input.claimedSha256 ?? null,
          chunkSize,
          chunkCount,
          state: "open",
          reservedBytes: BigInt(input.size),
          driver: storage.name,
          stagingKey: key,
          multipartId,
          metadata: input.metadata,
          expiresAt: expiry(),
          ...input.columns,
        },
      });
    });
  } catch (e) {
    if (multipartId) await storage.multipart.abort(key, multipartId).catch(() => {});
    throw e;
  }
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
  const session = await createUploadSession(actor, {
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
  if (session.state === "aborted" || session.state === "expired" || (session.state === "open" && session.expiresAt <= new Date())) {
    throw new DomainError("NOT_FOUND", "Upload not found or expired");
  }
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

/**
 * Ends a session that will never complete: the state flips first (so no chunk or complete can
 * start after), then the reservation is released and the bytes' removal is queued.
 */
export async function endSession(session: UploadSession, state: "aborted" | "expired", from: "open" | "completing" = "open"): Promise<boolean> {
  // The owner's row first (tree-tx.ts), as a complete of this session takes it before the session row.
  const ended = await withTreeLock(session.ownerId, async (tx) => {
    const n = await tx.$executeRaw`
      UPDATE UploadSession SET state = ${state}, updatedAt = NOW(3) WHERE id = ${session.id} AND state = ${from}`;
    if (n !== 1) return false;
    await release(tx, session.ownerId, session.reservedBytes);
    await tx.uploadChunkClaim.deleteMany({ where: { sessionId: session.id } });
    await tx.uploadChunk.deleteMany({ where: { sessionId: session.id } });
    // Issue 10 (transfer branch): the staged bytes are deleted by the worker (a storage.discard.v1
    // job committed with the state change), never inside the user's request; the job deletes
    // nothing a blob points at. multipartId is read after the flip: no chunk can create one now.
    const { multipartId } = await tx.uploadSession.findUniqueOrThrow({ where: { id: session.id }, select: { multipartId: true } });
    await scheduleObjectDiscard(tx, {
      driver: session.driver,
      key: session.stagingKey,
      multipartId,
      // tus: the incomplete part (tailKey) and any tail left by a write never recorded (tus/tail.ts).
      prefix: session.protocol === "tus" ? tailPrefix(session.stagingKey) : null,
      reason: `upload-${state}`,
    });
    return true;
  });
  if (!ended) return false;
  dropLiveHash(session.id);
  return true;
}

export async function abortUpload(actor: Actor, uploadId: string): Promise<{ ok: true }> {
  const session = await loadOwnedSession(actor, uploadId);
  if (session.state === "completing" || session.state === "completed") {
    throw new DomainError("CONFLICT", "This upload is already completing or complete");
  }
  if (session.state !== "open") throw new DomainError("NOT_FOUND", "Upload not found or expired");
  if (!(await endSession(session, "aborted"))) throw new DomainError("CONFLICT", "This upload changed state meanwhile");
  return { ok: true };
}

// The live hash reports a finished whole-content digest here, so complete on any instance sees it.
setDigestSink(async (sessionId, digest) => {
  await db.$executeRaw`
    UPDATE UploadSession SET contentSha256 = ${digest}, updatedAt = NOW(3)
    WHERE id = ${sessionId} AND state IN ('open', 'completing') AND contentSha256 IS NULL`;
});
