import type { Actor } from "~/server/auth/actor";
import { db } from "~/server/db/client";
import type { UploadSession } from "~/server/db/generated/client";
import { DomainError } from "~/server/errors";
import { blobStorage } from "~/server/services/blobs";
import { Meter } from "./streams";
import { takeClaim } from "./claims";
import { affected, hotPool } from "./hot-db";
import { abandonChunk, chunkMissed, chunkRecorded, planChunk, type HashPlan } from "./live-hash";
import { chunkLength } from "./plan";
import { assertOpen, createMultipart, keepAlive, recordContentDigest, uploadGone } from "./session-lifecycle";
import { loadOwnedSession } from "./sessions";
import { storageError } from "./storage-errors";

// PUT /api/uploads/{uploadId}/chunks/{index}: one chunk's bytes, streamed straight into the
// session's storage multipart upload (part number = index + 1), hashed on the way. A chunk counts as
// received only once its UploadChunk row is committed, after the storage accepted every byte, so a
// failed or interrupted request leaves nothing that counts; a resend simply writes the part again.

/** A chunk's request body as HTTP parsed it (src/server/http/upload-bodies.ts). */
export interface ChunkBody {
  /** The body's declared length (Content-Length of a raw body); null when not declared or multipart. */
  declaredBytes: number | null;
  /** The SHA-256 the client says the chunk has (Content-Digest), or null; BAD_REQUEST when malformed. */
  expectedDigest(): Buffer | null;
  /** Streams the chunk's bytes into `sink`; `finished` settles once the whole request was read and well formed. */
  pipeTo(sink: Meter): { finished: Promise<void>; stop: () => void };
  /** Reads and discards the body (a resent chunk that is already stored), up to `limit` bytes. */
  discard(limit: number): Promise<void>;
}

export function parseChunkIndex(raw: string): number {
  if (!/^(0|[1-9][0-9]{0,8})$/.test(raw)) throw new DomainError("BAD_REQUEST", "Chunk index must be a non-negative integer");
  return Number(raw);
}

async function countReceived(sessionId: string): Promise<number> {
  const rows = (await hotPool().query("SELECT COUNT(*) AS n FROM UploadChunk WHERE sessionId = ?", [sessionId])) as Array<{ n: bigint | number }>;
  return Number(rows[0]!.n);
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
  if (!fresh?.multipartId || fresh.state !== "open") throw uploadGone();
  return fresh.multipartId;
}

/**
 * Counts the chunk as received: its claim must still be ours (compare-and-delete), then the row is
 * inserted only while the session is still open, and the count of received chunks is read (one
 * round trip for both). The INSERT … SELECT reads the session row with a shared lock, so it
 * serialises with complete and abort, which update that row first: a chunk either lands before they
 * look, or finds the session no longer open and is NOT_FOUND.
 *
 * The claim is NOT joined into the INSERT: UploadChunkClaim is a MEMORY table (table locks), and a
 * statement holding its lock while it waits for the session row's lock deadlocked with an abort
 * holding that row and waiting to delete the claims — a cycle InnoDB cannot see, so every chunk
 * waited out innodb_lock_wait_timeout and the pool ran dry (tests/integration/uploads-concurrency).
 */
async function recordChunk(sessionId: string, index: number, token: string, size: number, digest: Buffer | null, etag: string): Promise<number> {
  const takenOver = () => new DomainError("CONFLICT", `Chunk ${index} was taken over by another request`);
  const claim = await hotPool().query("DELETE FROM UploadChunkClaim WHERE sessionId = ? AND `index` = ? AND token = ?", [sessionId, index, token]);
  if (affected(claim) !== 1) throw takenOver();
  for (let attempt = 1; ; attempt++) {
    let results: unknown[];
    try {
      results = (await hotPool().query(
        `INSERT INTO UploadChunk (sessionId, \`index\`, size, sha256, etag, createdAt)
           SELECT id, ?, ?, ?, ?, NOW(3) FROM UploadSession WHERE id = ? AND state = 'open';
         SELECT COUNT(*) AS n FROM UploadChunk WHERE sessionId = ?`,
        [index, size, digest?.toString("hex") ?? null, etag, sessionId, sessionId],
      )) as unknown[];
    } catch (e) {
      const errno = (e as { errno?: number }).errno;
      // Only a writer that took over a stale claim of ours can have recorded this index meanwhile.
      if (errno === ER_DUP_ENTRY) throw takenOver();
      if (errno === ER_LOCK_DEADLOCK && attempt < 5) continue;
      throw e;
    }
    if (affected(results[0]) === 1) return Number((results[1] as Array<{ n: bigint | number }>)[0]!.n);
    throw uploadGone();
  }
}

const ER_DUP_ENTRY = 1062;
const ER_LOCK_DEADLOCK = 1213;

export async function putChunk(
  actor: Actor,
  uploadId: string,
  rawIndex: string,
  body: ChunkBody,
): Promise<{ index: number; received: number }> {
  const index = parseChunkIndex(rawIndex);
  // The session and the chunk rows that matter, in parallel (the chunk rows are only looked at once
  // the session proved to be the caller's): is this chunk already here? did chunk 0 arrive before us?
  const [session, stored] = await Promise.all([
    loadOwnedSession(actor, uploadId),
    hotPool().query("SELECT `index` FROM UploadChunk WHERE sessionId = ? AND `index` IN (0, ?)", [uploadId, index]) as Promise<Array<{ index: number }>>,
  ]);
  assertOpen(session);
  if (index >= session.chunkCount) {
    throw new DomainError("BAD_REQUEST", `Chunk ${index} is past the end (this upload has ${session.chunkCount} chunks)`);
  }
  const expected = chunkLength(session, index);
  const expectedDigest = body.expectedDigest();
  if (body.declaredBytes !== null && body.declaredBytes !== expected) {
    throw new DomainError("BAD_REQUEST", `Chunk ${index} must be ${expected} bytes, the request declares ${body.declaredBytes}`);
  }

  const existing = stored.some((c) => c.index === index);
  const chunkZeroStored = index !== 0 && stored.some((c) => c.index === 0);
  if (existing) {
    // Already received: re-sending is harmless, the stored part is never touched again.
    await body.discard(expected + 64 * 1024);
    return { index, received: await countReceived(session.id) };
  }
  await keepAlive(session);

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
    const source = body.pipeTo(meter);
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
      chunkRecorded(session.id, index, plan, !meter.spoolFailed, recordContentDigest, readBack);
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
