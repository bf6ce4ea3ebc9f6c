import { createHash, timingSafeEqual, type Hash } from "node:crypto";
import { Readable } from "node:stream";
import type { UploadSession } from "~/server/db/generated/client";
import { DomainError } from "~/server/errors";
import { blobStorage } from "~/server/services/blobs";
import type { StorageDriver } from "~/server/storage";
import { chunkLength } from "../plan";
import { storageError } from "../storage-errors";
import { BodyCursor, spoolPiece } from "./body-cursor";
import { lockUpload, type TusLock } from "./lock";
import { adoptHash, hashAt } from "./running-hash";
import { keepAlive } from "../session-lifecycle";
import { finishUpload, gone, recordProgress, reloadTusSession, type Progress } from "./session";
import { deleteQuietly, newTailKey, readTail } from "./tail";

// PATCH: bytes at the upload's offset, cut into the session's fixed-size parts as they stream in
// (tusd's s3store design). Part k (1-based) holds bytes [(k-1)·partSize, k·partSize). A PATCH that
// starts inside a part first replays the stored tail (the part's bytes so far) and then appends its
// own; a PATCH that ends inside a part stores what it has of that part as the new tail. Each whole
// part goes to the storage multipart upload and is recorded (offset, row) right after, so an
// interrupted PATCH keeps every whole part, and when the body's length was not announced (it was
// spooled to disk piece by piece) also its last bytes, as the tail. With an Upload-Checksum nothing
// is recorded until the whole body matched it. The last part completes the upload in the same
// request, so the final 204 comes after the file exists.

export type ChecksumAlgorithm = "sha1" | "sha256";

export interface TusWrite {
  offset: number;
  /** Content-Length of the body; null when not announced (chunked transfer encoding). */
  contentLength: number | null;
  checksum: { algorithm: ChecksumAlgorithm; digest: Buffer } | null;
  body: Readable;
  signal: AbortSignal;
}

export interface TusState {
  offset: number;
  length: number;
  /** Null once the upload is complete. */
  expiresAt: Date | null;
}

export function stateOf(session: UploadSession): TusState {
  return {
    offset: Number(session.uploadOffset),
    length: Number(session.size),
    expiresAt: session.state === "open" ? session.expiresAt : null,
  };
}

const pastLength = () => new DomainError("BAD_REQUEST", "The body goes past Upload-Length");

function offsetMismatch(current: number): DomainError {
  return new DomainError("CONFLICT", `Upload-Offset does not match the upload's offset ${current}`, { details: { offset: current } });
}

/** The part's bytes: the stored tail first (when the part was begun earlier), then this PATCH's. */
function partBody(storage: StorageDriver, tailKey: string | null, tailBytes: number, own: () => AsyncIterable<Buffer>): Readable {
  return Readable.from(
    (async function* () {
      if (tailBytes > 0) yield* await readTail(storage, tailKey!, tailBytes);
      yield* own();
    })(),
    { objectMode: false },
  );
}

/** Writes a PATCH body into an upload the caller owns (loaded by loadTusSession). */
export async function writeUpload(loaded: UploadSession, req: TusWrite): Promise<TusState> {
  const size = Number(loaded.size);
  if (loaded.state === "completing") throw new DomainError("CONFLICT", "This upload is being completed");
  if (req.offset !== Number(loaded.uploadOffset)) throw offsetMismatch(Number(loaded.uploadOffset));
  if (req.contentLength !== null && req.offset + req.contentLength > size) throw pastLength();
  if (loaded.state === "completed") {
    if (req.contentLength === 0) return stateOf(loaded);
    const cursor = new BodyCursor(req.body, req.signal, []);
    if (!(await cursor.atEnd())) throw pastLength();
    return stateOf(loaded);
  }

  await keepAlive(loaded, gone);
  const lock = await lockUpload(loaded.id);
  try {
    const session = await reloadTusSession(loaded.id);
    if (session.state !== "open") throw new DomainError("CONFLICT", "This upload is being completed");
    if (req.offset !== Number(session.uploadOffset)) throw offsetMismatch(Number(session.uploadOffset));
    // Losing the lock (we were thought dead) stops the body like a client gone, with a CONFLICT.
    await streamParts(session, lock, { ...req, signal: AbortSignal.any([req.signal, lock.lost]) });
  } finally {
    await lock.release();
  }
  return stateOf(await reloadTusSession(loaded.id));
}

async function streamParts(session: UploadSession, lock: TusLock, req: TusWrite): Promise<void> {
  const storage = blobStorage(session.driver);
  const size = Number(session.size);
  const checksum = req.checksum ? createHash(req.checksum.algorithm) : null;
  const running = hashAt(session.id, req.offset);
  const cursor = new BodyCursor(req.body, req.signal, [checksum, running].filter((h): h is Hash => h !== null));
  /** With a checksum every step waits for the whole body to match it; without, each is recorded at once. */
  const deferred: Progress[] = [];
  let recordedTail = session.tailKey;
  let pos = req.offset;
  let unrecordedTail: string | null = null;

  const record = async (step: Progress) => {
    if (step.to === size && running) step.contentSha256 = running.copy().digest("hex");
    if (checksum) {
      deferred.push(step);
      return;
    }
    await recordProgress(session.id, lock.token, step);
    if (running) adoptHash(session.id, step.to, running.copy());
    if (recordedTail !== step.tailKey) await deleteQuietly(storage, recordedTail);
    recordedTail = step.tailKey;
    if (step.tailKey === unrecordedTail) unrecordedTail = null;
  };

  let interrupted: unknown = null;
  try {
    let left = req.contentLength ?? Infinity;
    while (pos < size && interrupted === null) {
      const index = Math.floor(pos / session.chunkSize);
      const have = pos - index * session.chunkSize;
      const partBytes = chunkLength(session, index);
      const capacity = partBytes - have;

      // The piece of this PATCH that goes into part `index`: streamed straight through when the
      // body's length is known, else spooled first (its size decides whether it is a whole part).
      let piece: { size: number; bytes: () => AsyncIterable<Buffer>; remove: () => Promise<void> };
      if (req.contentLength !== null) {
        const n = Math.min(capacity, left);
        piece = { size: n, bytes: () => cursor.take(n), remove: async () => {} };
      } else {
        const spooled = await spoolPiece(cursor, capacity);
        interrupted = spooled.interrupted;
        piece = { size: spooled.size, bytes: spooled.open, remove: spooled.remove };
      }
      if (piece.size === 0 || (interrupted !== null && checksum)) {
        await piece.remove();
        break;
      }
      try {
        const body = partBody(storage, recordedTail, have, piece.bytes);
        if (piece.size === capacity) {
          const { etag } = await storage.multipart.uploadPart(session.stagingKey, session.multipartId!, index + 1, body, partBytes);
          if (cursor.failure) throw cursor.failure;
          const from = pos;
          pos += piece.size;
          left -= piece.size;
          // The last part is recorded only once the body proved to end there.
          if (pos === size && !(await cursor.atEnd())) throw pastLength();
          await record({ from, to: pos, parts: [{ index, size: partBytes, etag }], tailKey: null });
        } else {
          // The body ends inside this part: what it has of the part is the new tail.
          const key = newTailKey(session.stagingKey);
          unrecordedTail = key;
          await storage.put(key, body, { size: have + piece.size });
          if (cursor.failure && !interrupted) throw cursor.failure;
          const from = pos;
          pos += piece.size;
          left -= piece.size;
          await record({ from, to: pos, parts: [], tailKey: key });
        }
      } catch (e) {
        throw cursor.failure ?? storageError(e);
      } finally {
        await piece.remove();
      }
    }
    if (interrupted !== null) throw interrupted;
    // Also an upload whose last part was recorded by a request that could not complete it.
    if (pos === size && !(await cursor.atEnd())) throw pastLength();

    if (checksum && deferred.length) {
      if (!timingSafeEqual(checksum.digest(), req.checksum!.digest)) {
        throw new DomainError("CHECKSUM_MISMATCH", `The body does not match its Upload-Checksum (${req.checksum!.algorithm})`);
      }
      const last = deferred[deferred.length - 1]!;
      await recordProgress(session.id, lock.token, {
        from: deferred[0]!.from,
        to: last.to,
        parts: deferred.flatMap((d) => d.parts),
        tailKey: last.tailKey,
        contentSha256: last.contentSha256,
      });
      if (running) adoptHash(session.id, pos, running.copy());
      if (recordedTail !== last.tailKey) await deleteQuietly(storage, recordedTail);
      unrecordedTail = null;
    } else if (checksum && !timingSafeEqual(checksum.digest(), req.checksum!.digest)) {
      throw new DomainError("CHECKSUM_MISMATCH", `The body does not match its Upload-Checksum (${req.checksum!.algorithm})`);
    }
  } catch (e) {
    cursor.stop();
    await deleteQuietly(storage, unrecordedTail);
    throw e;
  }
  if (pos === size) await finishUpload(session.id);
}
