import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { open, rename, rm, stat, utimes } from "node:fs/promises";
import type http from "node:http";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Entry, FilestoreClient } from "./client";
import { FilestoreError } from "./errors";
import { hashPrefix } from "./hash";
import { discard, errorFromResponse, sendRaw } from "./http";
import { sleep } from "./limiter";

// Downloading one file to disk, verified: bytes stream into `<dest>.part` while being hashed, and
// only a file whose SHA-256 is the entry's is renamed to `dest` (nothing partial ever carries the
// final name). A `.part` left by an interrupted download is resumed with `Range` + `If-Range` (the
// ETag is the content's SHA-256, so a changed file starts over); a broken connection resumes the
// same way within the call.

const ATTEMPTS = 6;

export interface DownloadProgress {
  phase: "verifying" | "downloading";
  done: number;
  total: number;
}

export interface DownloadFileOptions {
  /** Resume a `<dest>.part` left by an earlier download (default true). */
  resume?: boolean;
  onProgress?: (p: DownloadProgress) => void;
  signal?: AbortSignal;
}

export interface DownloadResult {
  path: string;
  size: number;
  sha256: string;
  /** Bytes already on disk that this call did not download again. */
  resumedFrom: number;
  /** Bytes received from the server by this call. */
  receivedBytes: number;
}

export const partPath = (dest: string) => `${dest}.part`;

async function sizeOf(file: string): Promise<number | null> {
  try {
    const st = await stat(file);
    return st.isFile() ? st.size : null;
  } catch {
    return null;
  }
}

/** Follows the drive's redirect to a presigned URL (DOWNLOAD_MODE=redirect), without our credentials. */
async function getContent(client: FilestoreClient, entry: Entry, headers: Record<string, string>, signal?: AbortSignal): Promise<http.IncomingMessage> {
  const path = `/api/files/${encodeURIComponent(entry.id)}/content`;
  let url = client.href(path);
  let res = await client.raw({ method: "GET", path, headers, signal });
  for (let hops = 0; hops < 5 && [301, 302, 303, 307, 308].includes(res.statusCode ?? 0) && res.headers.location; hops++) {
    const location = new URL(res.headers.location, url).toString();
    url = location;
    await discard(res);
    res = await sendRaw({ method: "GET", url: location, headers, signal });
  }
  return res;
}

export async function downloadFile(client: FilestoreClient, entry: Entry, dest: string, opts: DownloadFileOptions = {}): Promise<DownloadResult> {
  if (entry.kind !== "file" || entry.size === null || !entry.sha256) throw new FilestoreError("BAD_REQUEST", `${entry.name} is not a file`);
  const total = entry.size;
  const expected = entry.sha256;
  const part = partPath(dest);
  const progress = (phase: DownloadProgress["phase"], done: number) => opts.onProgress?.({ phase, done, total });

  let startedFrom: number | null = null;
  let received = 0;
  let restartedForIntegrity = false;
  for (let attempt = 1; ; attempt++) {
    // What is on disk already: hash it, so the digest covers the whole file at the end.
    let offset: number = opts.resume === false && startedFrom === null ? 0 : ((await sizeOf(part)) ?? 0);
    if (offset > total) offset = 0;
    let hash = createHash("sha256");
    const handle = await open(part, offset === 0 ? "w" : "r+");
    try {
      if (offset > 0) {
        let verified = 0;
        await hashPrefix(handle, offset, hash, (n) => progress("verifying", (verified += n)));
        await handle.truncate(offset);
      }
    } finally {
      await handle.close();
    }
    startedFrom ??= offset;

    if (offset < total) {
      const headers: Record<string, string> = offset > 0 ? { range: `bytes=${offset}-`, "if-range": `"${expected}"` } : {};
      let res: http.IncomingMessage;
      try {
        res = await getContent(client, entry, headers, opts.signal);
      } catch (e) {
        if (isRetryable(e) && attempt < ATTEMPTS) {
          await sleep(backoff(attempt), opts.signal);
          continue;
        }
        throw e;
      }
      const status = res.statusCode ?? 0;
      if (status === 416) {
        // The .part is longer than the content: it was never this file's. Start over.
        await discard(res);
        await rm(part, { force: true });
        startedFrom = 0;
        if (attempt < ATTEMPTS) continue;
        throw new FilestoreError("INTEGRITY", `The server refused to resume ${entry.name}`);
      }
      if (status === 200 && offset > 0) {
        // If-Range did not match (the content is not what the .part began with): the whole file came.
        offset = 0;
        startedFrom = 0;
        hash = createHash("sha256");
      }
      if (status !== 200 && status !== 206) {
        const err = await errorFromResponse(res, `Download of ${entry.name}`);
        if (((err.status ?? 0) >= 500 || err.code === "TOO_MANY_REQUESTS") && attempt < ATTEMPTS) {
          await sleep(err.retryAfter !== null ? err.retryAfter * 1000 : backoff(attempt), opts.signal);
          continue;
        }
        throw err;
      }
      if (status === 206) {
        const m = /^bytes (\d+)-/.exec(String(res.headers["content-range"] ?? ""));
        if (!m || Number(m[1]) !== offset) {
          await discard(res);
          throw new FilestoreError("INTEGRITY", `The server answered a different range than asked for ${entry.name}`);
        }
      }
      let done = offset;
      const tap = new Transform({
        transform(buf: Buffer, _enc, cb) {
          hash.update(buf);
          done += buf.length;
          received += buf.length;
          progress("downloading", done);
          cb(null, buf);
        },
      });
      try {
        await pipeline(res, tap, createWriteStream(part, { flags: offset === 0 ? "w" : "a", highWaterMark: 1024 * 1024 }), { signal: opts.signal });
      } catch (e) {
        // A broken connection: what reached the disk stays, and the next attempt asks for the rest.
        if (isRetryable(e) && attempt < ATTEMPTS) {
          await sleep(backoff(attempt), opts.signal);
          continue;
        }
        throw e instanceof FilestoreError || opts.signal?.aborted ? e : new FilestoreError("NETWORK", `Download of ${entry.name} broke off: ${(e as Error).message}`, { cause: e });
      }
      if (done !== total) {
        if (attempt < ATTEMPTS) continue;
        throw new FilestoreError("NETWORK", `Download of ${entry.name} ended at ${done} of ${total} bytes`);
      }
    }

    const actual = hash.digest("hex");
    if (actual !== expected) {
      await rm(part, { force: true });
      // A resumed .part may have begun with bytes that were never this file's: one clean retry.
      if (!restartedForIntegrity && (startedFrom ?? 0) > 0) {
        restartedForIntegrity = true;
        startedFrom = 0;
        continue;
      }
      throw new FilestoreError("INTEGRITY", `${entry.name}: SHA-256 ${actual} is not the expected ${expected}; nothing was kept`);
    }
    const fh = await open(part, "r+");
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(part, dest);
    const mtime = new Date(entry.updatedAt);
    await utimes(dest, mtime, mtime).catch(() => {});
    return { path: dest, size: total, sha256: actual, resumedFrom: startedFrom ?? 0, receivedBytes: received };
  }
}

function isRetryable(e: unknown): boolean {
  if (e instanceof FilestoreError) return e.code === "NETWORK";
  const code = (e as { code?: string }).code;
  return code === "ECONNRESET" || code === "ERR_STREAM_PREMATURE_CLOSE" || code === "EPIPE" || code === "ETIMEDOUT";
}

function backoff(attempt: number): number {
  return Math.min(15_000, 500 * 2 ** (attempt - 1));
}
