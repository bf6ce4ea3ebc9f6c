import { createReadStream } from "node:fs";
import path from "node:path";
import type { FilestoreClient } from "./client";
import { FilestoreError } from "./errors";
import { contentDigest, sha256File } from "./hash";
import { errorFromResponse, readText } from "./http";
import { Limiter, sleep } from "./limiter";
import { DEFAULT_PARALLEL, MiB, type UploadFileOptions, type UploadProgress } from "./upload";

// The chunk PUTs of one upload session (PUT /api/uploads/{id}/chunks/{i}): the chunks the session
// lacks, lowest index first (the server hashes the whole file as chunks arrive in order), several
// at a time, each streamed from the file with its Content-Digest, retried when a retry can help.

const CHUNK_ATTEMPTS = 6;

export interface Session {
  uploadId: string;
  chunkSize: number;
  chunkCount: number;
  received: Set<number>;
  state: string;
}

function chunkLength(size: number, s: Session, index: number): number {
  return index < s.chunkCount - 1 ? s.chunkSize : size - index * s.chunkSize;
}

/** Sends every chunk the session lacks; returns the bytes sent. */
export async function sendChunks(
  client: FilestoreClient,
  localPath: string,
  size: number,
  session: Session,
  opts: UploadFileOptions,
  progress: (phase: UploadProgress["phase"], done: number) => void,
  digests: readonly string[],
): Promise<number> {
  const missing = Array.from({ length: session.chunkCount }, (_, i) => i).filter((i) => !session.received.has(i));
  let onServer = [...session.received].reduce((sum, i) => sum + chunkLength(size, session, i), 0);
  let inFlight = 0;
  let sent = 0;
  const report = () => progress("uploading", Math.min(size, onServer + inFlight));
  report();
  const limiter = opts.limiter ?? new Limiter(opts.parallel ?? DEFAULT_PARALLEL);
  const lanes = Math.min(opts.parallel ?? DEFAULT_PARALLEL, missing.length);
  // Chunks go out lowest index first: the server hashes the whole file as chunks arrive in order.
  let next = 0;
  let failure: unknown = null;
  const lane = async () => {
    while (failure === null && next < missing.length) {
      const index = missing[next++]!;
      try {
        await limiter.run(async () => {
          if (failure !== null) return;
          const length = chunkLength(size, session, index);
          const bytes = await putChunk(client, localPath, session, index, length, opts, digests[index] ?? null, (n) => {
            inFlight += n;
            report();
          });
          inFlight -= bytes.attempted;
          onServer += length;
          sent += bytes.sent;
          session.received.add(index);
          report();
        });
      } catch (e) {
        failure ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: lanes }, lane));
  if (failure !== null) throw failure;
  return sent;
}

/** PUTs one chunk, retrying what a retry can fix; returns bytes sent (all attempts) and counted in flight. */
async function putChunk(
  client: FilestoreClient,
  localPath: string,
  session: Session,
  index: number,
  length: number,
  opts: UploadFileOptions,
  knownDigest: string | null,
  onBytes: (n: number) => void,
): Promise<{ sent: number; attempted: number }> {
  const start = index * session.chunkSize;
  let digest: string | null = knownDigest;
  let sent = 0;
  let counted = 0;
  let lastError: unknown = null;
  let digestRefusals = 0;
  for (let attempt = 1; attempt <= CHUNK_ATTEMPTS; attempt++) {
    opts.signal?.throwIfAborted();
    if (opts.chunkDigest !== false && digest === null) digest = await sha256File(localPath, { start, length, signal: opts.signal });
    // Bytes of a failed attempt are no longer "in flight".
    onBytes(-counted);
    counted = 0;
    try {
      const res = await client.raw({
        method: "PUT",
        path: `/api/uploads/${encodeURIComponent(session.uploadId)}/chunks/${index}`,
        headers: {
          "content-type": "application/octet-stream",
          "content-length": String(length),
          ...(digest ? { "content-digest": contentDigest(digest) } : {}),
        },
        body: () => {
          const stream = createReadStream(localPath, { start, end: start + length - 1, highWaterMark: MiB });
          stream.on("data", (buf) => {
            sent += buf.length;
            counted += buf.length;
            onBytes(buf.length);
          });
          return stream;
        },
        signal: opts.signal,
      });
      if (res.statusCode === 200) {
        await readText(res);
        return { sent, attempted: counted };
      }
      const err = await errorFromResponse(res, `Chunk ${index} of ${path.basename(localPath)}`);
      lastError = err;
      if (err.code === "UNPROCESSABLE_CONTENT") {
        // The bytes did not match their digest: read the chunk again; twice means the file is changing.
        if (++digestRefusals >= 2) throw new FilestoreError("CHANGED", `${localPath} changed while it was being uploaded`, { cause: err });
        digest = null;
        continue;
      }
      if (err.code === "CONFLICT") {
        // Another request (an earlier run of ours, a stale connection) is writing this chunk.
        await sleep(1000 * attempt, opts.signal);
        continue;
      }
      if (err.code === "TOO_MANY_REQUESTS" || (err.status ?? 0) >= 500) {
        await sleep(retryDelay(attempt, err.retryAfter), opts.signal);
        continue;
      }
      throw err;
    } catch (e) {
      if (!(e instanceof FilestoreError && e.code === "NETWORK")) throw e;
      lastError = e;
      await sleep(retryDelay(attempt, null), opts.signal);
    }
  }
  throw lastError;
}

export function retryDelay(attempt: number, retryAfter: number | null): number {
  if (retryAfter !== null) return Math.min(60_000, retryAfter * 1000);
  return Math.min(15_000, 500 * 2 ** (attempt - 1));
}
