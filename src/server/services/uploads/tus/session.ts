import type { Actor } from "~/server/auth/actor";
import { db } from "~/server/db/client";
import { retryOnDeadlock } from "~/server/db/transaction";
import type { UploadSession } from "~/server/db/generated/client";
import { DomainError } from "~/server/errors";
import { blobStorage } from "~/server/services/blobs";
import { completeSession } from "../complete";
import { isGone } from "../session-lifecycle";
import { TUS_LOCK_INDEX } from "./lock";
import { dropHash } from "./running-hash";
import { removeTails } from "./tail";
import { logger } from "~/server/log";

const log = logger("tus");

// A tus upload is an UploadSession with protocol "tus": quota reserved at creation, parts recorded
// as UploadChunk rows (index = part number - 1), uploadOffset = the bytes durably stored (whole
// parts + the tail object), completed by the same code as chunked sessions (complete.ts).

const UPLOAD_ID = /^[A-Za-z0-9_-]{1,64}$/;

const notFound = () => new DomainError("NOT_FOUND", "Upload not found");
/** tus says GONE (410) where the chunked API says NOT_FOUND (session-lifecycle.ts uploadGone). */
export const gone = () => new DomainError("GONE", "This upload expired or was terminated");

/** The caller's tus upload: NOT_FOUND for an unknown id or anyone else's, GONE once expired or terminated. */
export async function loadTusSession(actor: Actor, uploadId: string): Promise<UploadSession> {
  if (!UPLOAD_ID.test(uploadId)) throw notFound();
  const session = await db.$primary().uploadSession.findFirst({ where: { id: uploadId, ownerId: actor.userId, protocol: "tus" } });
  if (!session) throw notFound();
  if (isGone(session)) throw gone();
  return session;
}

export async function reloadTusSession(sessionId: string): Promise<UploadSession> {
  const session = await db.$primary().uploadSession.findUnique({ where: { id: sessionId } });
  if (!session) throw notFound();
  if (isGone(session)) throw gone();
  return session;
}

export interface Progress {
  from: number;
  to: number;
  /** Whole parts stored by this step (index = part number - 1). */
  parts: Array<{ index: number; size: number; etag: string }>;
  /** The tail object after this step (null: the bytes end on a part boundary). */
  tailKey: string | null;
  /** The whole content's SHA-256, when this step reaches the end and this process hashed every byte. */
  contentSha256?: string | null;
}

/**
 * Records bytes as durably stored: the offset moves from `from` to `to` only if it is still
 * `from`, the upload still open and the writer still holds the upload's lock; the parts' rows go
 * in the same transaction. Anything else is CONFLICT (or GONE), and nothing is recorded.
 */
export async function recordProgress(sessionId: string, lockToken: string, step: Progress): Promise<void> {
  const moved = await retryOnDeadlock(() =>
    db.$transaction(async (tx) => {
      const n = await tx.$executeRaw`
        UPDATE UploadSession
        SET uploadOffset = ${step.to}, tailKey = ${step.tailKey}, contentSha256 = COALESCE(${step.contentSha256 ?? null}, contentSha256),
            updatedAt = NOW(3)
        WHERE id = ${sessionId} AND state = 'open' AND uploadOffset = ${step.from}
          AND EXISTS (SELECT 1 FROM UploadChunkClaim c WHERE c.sessionId = ${sessionId} AND c.\`index\` = ${TUS_LOCK_INDEX} AND c.token = ${lockToken})`;
      if (n !== 1) return false;
      for (const p of step.parts) {
        await tx.$executeRaw`
          INSERT INTO UploadChunk (sessionId, \`index\`, size, sha256, etag, createdAt)
          VALUES (${sessionId}, ${p.index}, ${p.size}, NULL, ${p.etag}, NOW(3))
          ON DUPLICATE KEY UPDATE size = VALUES(size), etag = VALUES(etag), createdAt = VALUES(createdAt)`;
      }
      return true;
    }),
  );
  if (moved) return;
  await reloadTusSession(sessionId); // GONE when it was terminated or expired meanwhile
  throw new DomainError("CONFLICT", "This upload was changed by another request meanwhile");
}

/**
 * The storage lost recorded parts (complete.ts found them missing or not as recorded, e.g. a
 * writer that lost its lock still wrote): the offset goes back to the first of them, so HEAD
 * reports what is really stored and the client sends the rest again.
 */
async function rewind(session: UploadSession, firstMissing: number): Promise<void> {
  await db.$transaction(async (tx) => {
    await tx.$executeRaw`
      UPDATE UploadSession SET uploadOffset = ${firstMissing * session.chunkSize}, tailKey = NULL, contentSha256 = NULL, updatedAt = NOW(3)
      WHERE id = ${session.id} AND state = 'open'`;
    await tx.uploadChunk.deleteMany({ where: { sessionId: session.id, index: { gte: firstMissing } } });
  });
  dropHash(session.id);
}

/**
 * Every byte is stored: the upload becomes a file (complete.ts: assemble the parts, the SHA-256,
 * dedup, quota, one transaction). Idempotent: a completed upload stays completed.
 */
export async function finishUpload(sessionId: string): Promise<UploadSession> {
  const session = await reloadTusSession(sessionId);
  if (session.state !== "completed") {
    if (session.state === "completing") throw new DomainError("CONFLICT", "This upload is being completed");
    try {
      await completeSession(session);
    } catch (e) {
      const missing = e instanceof DomainError && e.code === "PRECONDITION_FAILED" ? e.details?.missing : null;
      if (Array.isArray(missing) && missing.length) {
        await rewind(session, Math.min(...(missing as number[])));
        throw new DomainError("CONFLICT", "Stored bytes of this upload were lost: resume from the offset HEAD reports", { cause: e });
      }
      throw e;
    }
  }
  dropHash(session.id);
  await removeTails(blobStorage(session.driver), session.stagingKey).catch((e) =>
    log.error(`removing the tails of ${session.id} failed: ${e instanceof Error ? e.message : e}`),
  );
  return db.$primary().uploadSession.findUniqueOrThrow({ where: { id: session.id } });
}
