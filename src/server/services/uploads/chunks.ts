import type { Readable } from "node:stream";
import type { Actor } from "~/server/auth/actor";
import { db } from "~/server/db/client";
import { isUniqueViolation } from "~/server/db/errors";
import { retryOnDeadlock } from "~/server/db/transaction";
import type { UploadSession } from "~/server/db/generated/client";
import { DomainError } from "~/server/errors";
import { blobStorage } from "~/server/services/blobs";
import { chunkSource, isMultipart, Meter, parseContentDigest } from "./body";
import { takeClaim } from "./claims";
import { abandonChunk, chunkMissed, chunkRecorded, planChunk, type HashPlan } from "./live-hash";
import { chunkLength } from "./plan";
import { assertOpen, createMultipart, keepAlive, loadOwnedSession } from "./sessions";
import { storageError } from "./storage-errors";

// PUT /api/uploads/{uploadId}/chunks/{index}: one chunk's bytes, streamed straight into the
// session's storage multipart upload (part number = index + 1), hashed on the way. A chunk counts as
// received only once its UploadChunk row is committed, after the storage accepted every byte, so a
// failed or interrupted request leaves nothing that counts; a resend simply writes the part again.

export interface ChunkRequest {
  body: Readable;
  headers: Headers;
  signal: AbortSignal;
}

export function parseChunkIndex(raw: string): number {
  if (!/^(0|[1-9][0-9]{0,8})$/.test(raw)) throw new DomainError("BAD_REQUEST", "Chunk index must be a non-negative integer");
  return Number(raw);
}

async function countReceived(sessionId: string): Promise<number> {
  return db.$primary().uploadChunk.count({ where: { sessionId } });
}

/** Reads and discards a body (a resent chunk), up to `limit` bytes; more is left unread. */
async function drain(body: Readable, limit: number, signal: AbortSignal): Promise<void> {
  let seen = 0;
  await new Promise<void>((resolve) => {
    const done = () => {
      body.off("data", onData);
      body.off("end", done);
      body.off("error", done);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const onData = (buf: Buffer) => {
      seen += buf.length;
      if (seen > limit) {
        body.pause();
        done();
      }
    };
    body.on("data", onData);
    body.once("end", done);
    body.once("error", done);
    signal.addEventListener("abort", done, { once: true });
  });
}

/** The session's storage multipart upload; created on first use for 秒传 sessions that fell back. */
async function ensureMultipart(session: UploadSession): Promise<string> {
  if (session.multipartId) return session.multipartId;
  const storage = blobStorage(session.driver);
  const created = await createMultipart(storage, session.stagingKey, session.chunkSize);
  const n = await db.$executeRaw`
    UPDATE UploadSession SET multipartId = ${created}, updatedAt = NOW(3)
    WHERE id = ${session.id} AND multipartId IS NULL AND state = 'open'`;
  if (n === 1) return created;
  await storage.multipart.abort(session.stagingKey, created).catch(() => {});
  const fresh = await db.$primary().uploadSession.findUnique({ where: { id: session.id } });
  if (!fresh?.multipartId || fresh.state !== "open") throw new DomainError("NOT_FOUND", "Upload not found or expired");
  return fresh.multipartId;
}

/**
 * Counts the chunk as received: its claim must still be ours, and the session still open. The
 * INSERT … SELECT reads the session row with a shared lock, so it serialises with complete and
 * abort (which update that row first): a chunk either lands before they look, or finds the
 * session no longer open and is NOT_FOUND. One autocommit statement, one commit per chunk.
 */
async function recordChunk(sessionId: string, index: number, token: string, size: number, digest: Buffer | null, etag: string): Promise<number> {
  const mine = await db.$executeRaw`
    DELETE FROM UploadChunkClaim WHERE sessionId = ${sessionId} AND \`index\` = ${index} AND token = ${token}`;
  if (mine !== 1) throw new DomainError("CONFLICT", `Chunk ${index} was taken over by another request`);
  let inserted: number;
  try {
    inserted = await retryOnDeadlock(
      () => db.$executeRaw`
        INSERT INTO UploadChunk (sessionId, \`index\`, size, sha256, etag, createdAt)
        SELECT id, ${index}, ${size}, ${digest?.toString("hex") ?? null}, ${etag}, NOW(3)
        FROM UploadSession WHERE id = ${sessionId} AND state = 'open'`,
    );
  } catch (e) {
    // Only a writer that took over a stale claim of ours can have recorded this index meanwhile.
    if (isUniqueViolation(e)) throw new DomainError("CONFLICT", `Chunk ${index} was taken over by another request`);
    throw e;
  }
  if (inserted !== 1) throw new DomainError("NOT_FOUND", "Upload not found or expired");
  return countReceived(sessionId);
}

export async function putChunk(
  actor: Actor,
  uploadId: string,
  rawIndex: string,
  req: ChunkRequest,
): Promise<{ index: number; received: number }> {
  const index = parseChunkIndex(rawIndex);
  // The session and the chunk rows that matter, in parallel (the chunk rows are only looked at once
  // the session proved to be the caller's): is this chunk already here? did chunk 0 arrive before us?
  const [session, stored] = await Promise.all([
    loadOwnedSession(actor, uploadId),
    db.$primary().uploadChunk.findMany({
      where: { sessionId: uploadId, index: { in: index === 0 ? [0] : [0, index] } },
      select: { index: true },
    }),
  ]);
  assertOpen(session);
  if (index >= session.chunkCount) {
    throw new DomainError("BAD_REQUEST", `Chunk ${index} is past the end (this upload has ${session.chunkCount} chunks)`);
  }
  const expected = chunkLength(session, index);
  const expectedDigest = parseContentDigest(req.headers.get("content-digest"));
  const multipartBody = isMultipart(req.headers.get("content-type"));
  const declared = req.headers.get("content-length");
  if (!multipartBody && declared !== null && Number(declared) !== expected) {
    throw new DomainError("BAD_REQUEST", `Chunk ${index} must be ${expected} bytes, the request declares ${declared}`);
  }

  const existing = stored.some((c) => c.index === index);
  const chunkZeroStored = index !== 0 && stored.some((c) => c.index === 0);
  if (existing) {
    // Already received: re-sending is harmless, the stored part is never touched again.
    await drain(req.body, expected + 64 * 1024, req.signal);
    return { index, received: await countReceived(session.id) };
  }
  await keepAlive(session, () => new DomainError("NOT_FOUND", "Upload not found or expired"));

  const claim = await takeClaim(session.id, index, `Chunk ${index} is being uploaded by another request`);

  let plan: HashPlan = { mode: "none" };
  let recorded = false;
  try {
    const multipartId = await ensureMultipart(session);
    const storage = blobStorage(session.driver);
    plan = await planChunk(session, index, expected, chunkZeroStored, storage.multipart.readPart !== undefined);
    const meter = new Meter({
      exact: expected,
      expectedDigest,
      alsoHash: plan.mode === "inline" ? plan.hash : null,
      spool: plan.mode === "spool" ? plan.stream : null,
      digest: expectedDigest !== null,
    });
    const source = chunkSource(req, meter);
    // Another writer took this chunk over (we were thought dead): stop writing its part at once.
    const onLost = () => {
      meter.failure ??= claim.lost.reason as DomainError;
      meter.destroy(meter.failure);
    };
    claim.lost.addEventListener("abort", onLost, { once: true });
    let etag: string;
    const part = storage.multipart.uploadPart(session.stagingKey, multipartId, index + 1, meter, expected);
    try {
      [{ etag }] = await Promise.all([part, source.finished]);
      claim.lost.removeEventListener("abort", onLost);
    } catch (e) {
      claim.lost.removeEventListener("abort", onLost);
      source.stop();
      meter.destroy();
      // The claim is released only once the storage write has stopped (finally below).
      const [stored] = await Promise.allSettled([part, source.finished]);
      // The body's own fault (length, digest, form) first; else the driver's wrapped error, which
      // says what happened (an upload aborted meanwhile is NOT_FOUND) where the body stream only saw
      // its destination fail with a bare errno.
      if (meter.failure) throw meter.failure;
      if (e instanceof DomainError) throw e;
      throw storageError(stored.status === "rejected" ? stored.reason : e);
    }
    const received = await recordChunk(session.id, index, claim.token, expected, meter.digest, etag);
    recorded = true;
    if (plan.mode === "none") chunkMissed(session.id, index);
    else {
      const readBack = () => storage.multipart.readPart?.(session.stagingKey, multipartId, index + 1, etag) ?? Promise.resolve(null);
      chunkRecorded(session.id, index, plan, !meter.spoolFailed, readBack);
    }
    return { index, received };
  } finally {
    if (recorded) claim.consumed();
    else {
      abandonChunk(session.id, index, plan);
      await claim.release();
    }
  }
}
