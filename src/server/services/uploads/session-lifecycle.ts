import type { Actor } from "~/server/auth/actor";
import { db, type Tx } from "~/server/db/client";
import type { Prisma, UploadSession } from "~/server/db/generated/client";
import { DomainError } from "~/server/errors";
import { scheduleObjectDiscard } from "~/server/services/blobs";
import { assertParentFolder } from "~/server/services/files/insert-file";
import { withTreeLock } from "~/server/services/files/tree-tx";
import { release, reserve } from "~/server/services/quota";
import { getStorage, type StorageDriver } from "~/server/storage";
import { newUploadId, tailPrefix, uploadObjectKey } from "./keys";
import { EXPIRY_REFRESH_MS, sessionTtlMs } from "./limits";
import { dropLiveHash } from "./live-hash";
import { planChunks } from "./plan";
import { storageError } from "./storage-errors";

// The life of an upload session, for every protocol (chunked, form, tus, 秒传): the one place that
// moves UploadSession.state, through named transitions:
//
//   open ──startCompleting──► completing ──markCompleted──► completed
//    │  ◄──────reopen──────────┘    │
//    ├──markCompleted (秒传, form: no assembly step) ──► completed
//    └──endSession──► aborted | expired ◄──endSession (stuck completing)──┘
//
// Every change is a conditional UPDATE on the state it leaves, so concurrent requests, instances and
// the sweeper race safely: exactly one wins, the others see the state the winner left. The answers
// a client gets for a session it cannot use are written here once (uploadGone, uploadFinishing).

export type SessionState = UploadSession["state"];

/** A session that is not (or no longer) there for the caller: someone else's, ended, or expired. */
export function uploadGone(): DomainError {
  return new DomainError("NOT_FOUND", "Upload not found or expired");
}

/** A session past `open` on its way to a file. */
export function uploadFinishing(): DomainError {
  return new DomainError("CONFLICT", "This upload is already completing or complete");
}

/** The session's state is no longer `open` or has expired. */
export function isGone(session: UploadSession, now = new Date()): boolean {
  return session.state === "aborted" || session.state === "expired" || (session.state === "open" && session.expiresAt <= now);
}

/** An open, unexpired session; NOT_FOUND once it is gone, CONFLICT while it is being completed. */
export function assertOpen(session: UploadSession, now = new Date()): void {
  if (session.state === "completing" || session.state === "completed") throw uploadFinishing();
  if (session.state !== "open" || session.expiresAt <= now) throw uploadGone();
}

export function expiry(now = Date.now()): Date {
  return new Date(now + sessionTtlMs());
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
 * → open (chunked and tus): plans the parts, creates the multipart upload, then checks the folder
 * and reserves the quota in one transaction (PAYLOAD_TOO_LARGE when it does not fit, NOT_FOUND for
 * a folder that is not the caller's).
 */
export async function openSession(actor: Actor, input: NewSession): Promise<UploadSession> {
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

/**
 * → open (one file of a form, POST /api/files): no reservation (the form is charged at its end), a
 * row so that a crash mid-body leaves something the sweeper deletes the bytes by.
 */
export async function openFormSession(input: { ownerId: string; parentId: string | null; name: string; driver: string; ttlMs: number }) {
  const id = newUploadId();
  const key = uploadObjectKey(id);
  await db.uploadSession.create({
    data: {
      id,
      ownerId: input.ownerId,
      protocol: "form",
      parentId: input.parentId,
      name: input.name,
      size: 0n,
      chunkSize: 0,
      chunkCount: 0,
      state: "open",
      reservedBytes: 0n,
      driver: input.driver,
      stagingKey: key,
      expiresAt: new Date(Date.now() + input.ttlMs),
    },
  });
  return { id, key };
}

/** open → aborted for form sessions whose bytes the form's own failure handling deletes. */
export async function abortFormSessions(ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await db.uploadSession.updateMany({ where: { id: { in: ids }, protocol: "form", state: "open" }, data: { state: "aborted" } }).catch(() => {});
}

/**
 * Activity (a chunk, a tus PATCH) pushes the session's expiry out to a full TTL again, at most once
 * per EXPIRY_REFRESH_MS (an update per chunk would be a commit per chunk). Called before the body
 * flows, so the sweeper cannot end a session while bytes stream into it; `ended` is the error
 * when the session is no longer open.
 */
export async function keepAlive(session: UploadSession, ended: () => DomainError = uploadGone): Promise<void> {
  const expiresAt = expiry();
  if (session.expiresAt.getTime() > expiresAt.getTime() - EXPIRY_REFRESH_MS) return;
  const n = await db.$executeRaw`
    UPDATE UploadSession SET expiresAt = ${expiresAt}, updatedAt = NOW(3) WHERE id = ${session.id} AND state = 'open'`;
  if (n !== 1) throw ended();
}

/**
 * open → completing, exactly once: concurrent completes race here and one wins. A session stuck
 * completing since before `staleBefore` (its completer died) may be taken again.
 */
export async function startCompleting(sessionId: string, staleBefore: Date): Promise<boolean> {
  const won = await db.$executeRaw`
    UPDATE UploadSession SET state = 'completing', updatedAt = NOW(3)
    WHERE id = ${sessionId} AND (state = 'open' OR (state = 'completing' AND updatedAt < ${staleBefore}))`;
  return won === 1;
}

/** completing → open: the completion failed in a way the client can fix (a missing chunk, storage). */
export async function reopen(sessionId: string): Promise<void> {
  await db.$executeRaw`UPDATE UploadSession SET state = 'open', updatedAt = NOW(3) WHERE id = ${sessionId} AND state = 'completing'`;
}

/**
 * → completed, inside the transaction that made the file: from `completing` (chunked, tus), or
 * from `open` (秒传 and form files, which have no assembly step). CONFLICT if the session left
 * `from` meanwhile (the transaction then makes nothing).
 */
export async function markCompleted(
  tx: Pick<Tx, "$executeRaw">,
  sessionId: string,
  from: "open" | "completing",
  result: { entryId: string; contentSha256: string; size?: number },
): Promise<void> {
  const size = result.size === undefined ? null : BigInt(result.size);
  // From completing the multipart upload was assembled: nothing to abort any more. (From open, 秒传
  // looks at multipartId afterwards to abort a chunk upload the client had started meanwhile.)
  const n =
    from === "completing"
      ? await tx.$executeRaw`
          UPDATE UploadSession
          SET state = 'completed', updatedAt = NOW(3), resultEntryId = ${result.entryId}, contentSha256 = ${result.contentSha256}, multipartId = NULL
          WHERE id = ${sessionId} AND state = 'completing'`
      : await tx.$executeRaw`
          UPDATE UploadSession
          SET state = 'completed', updatedAt = NOW(3), resultEntryId = ${result.entryId}, contentSha256 = ${result.contentSha256},
              size = COALESCE(${size}, size)
          WHERE id = ${sessionId} AND state = 'open'`;
  if (n !== 1) throw new DomainError("CONFLICT", "This upload changed state meanwhile");
}

/**
 * open (or completing) → aborted | expired: a session that will never complete. The state flips
 * first (so no chunk or complete can start after), then the reservation is released and the
 * bytes' removal is queued.
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

/** The whole-content digest the live hash finished (while open or completing), for complete on any instance. */
export async function recordContentDigest(sessionId: string, digest: string): Promise<void> {
  await db.$executeRaw`
    UPDATE UploadSession SET contentSha256 = ${digest}, updatedAt = NOW(3)
    WHERE id = ${sessionId} AND state IN ('open', 'completing') AND contentSha256 IS NULL`;
}
