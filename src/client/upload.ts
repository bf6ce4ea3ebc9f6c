import { stat } from "node:fs/promises";
import path from "node:path";
import type { Entry, FilestoreClient } from "./client";
import { FilestoreError } from "./errors";
import { retryDelay, sendChunks, type Session } from "./chunks";
import { proofFor, sha256FileAndChunks } from "./hash";
import { type Limiter, sleep } from "./limiter";

// Uploading one local file (API.md "Upload sessions"), streamed from disk, never held in memory:
//   1. hash the file (SHA-256), unless it is small or the digest is already known;
//   2. upload.init with the digest: when the server already holds that content it answers with a
//      秒传 challenge, and upload.prove (the SHA-256 of the challenged byte ranges, read from the
//      file) puts the file in the drive without a byte sent; a refused proof continues as a
//      normal upload of the same session;
//   3. PUT the chunks the session has not received yet, in parallel, each with its Content-Digest;
//   4. upload.complete, which checks the whole file against the digest given at init.
// A session can be resumed by id (`resume`), or found again by the server: init with the same
// name, size, digest and folder returns the session still open.

export const MiB = 1024 * 1024;
export const DEFAULT_CHUNK_BYTES = 8 * MiB;
export const DEFAULT_PARALLEL = 4;
/** Below this size a file is not announced by its digest (no 秒传): one chunk, verified by its own digest. */
export const INSTANT_MIN_BYTES = MiB;

export interface UploadProgress {
  phase: "hashing" | "uploading" | "completing";
  /** Bytes hashed (hashing) or known to be on the server (uploading: received chunks plus bytes in flight). */
  done: number;
  total: number;
}

export interface UploadSessionInfo {
  uploadId: string;
  /** The digest announced at init (null for small files). */
  sha256: string | null;
  chunkSize: number;
  chunkCount: number;
}

export interface UploadFileOptions {
  /** Target folder (default: the root). */
  parentId?: string | null;
  /** Name in the drive (default: the local file's name). */
  name?: string;
  /** Requested chunk size (the server may raise it); default 8 MiB. */
  chunkSize?: number;
  /** Chunk requests in flight for this file (default 4); `limiter` bounds them across files too. */
  parallel?: number;
  limiter?: Limiter;
  /** The file's SHA-256 when already known (saves hashing it). */
  sha256?: string;
  /** Announce the digest at init, allowing 秒传 (default: for files of 1 MiB and more). */
  instant?: boolean;
  /** Send Content-Digest with each chunk (default true): a damaged chunk is refused and sent again. */
  chunkDigest?: boolean;
  /** Continue this session (from upload.pending or a journal); a session that is gone starts anew. */
  resumeUploadId?: string | null;
  onProgress?: (p: UploadProgress) => void;
  /** Called once the session is known, before any chunk is sent (to journal it). */
  onSession?: (s: UploadSessionInfo) => void | Promise<void>;
  signal?: AbortSignal;
}

export interface UploadResult {
  file: Entry;
  uploadId: string;
  /** Linked by 秒传: no chunk was sent. */
  instant: boolean;
  /** Chunk bytes this call sent (resent chunks counted again). */
  sentBytes: number;
  /** Chunks the server already had when this call started (a resumed upload). */
  resumedChunks: number;
  sha256: string | null;
}


type InitResult = Awaited<ReturnType<FilestoreClient["trpc"]["upload"]["init"]["mutate"]>>;

function isCode(e: unknown, ...codes: string[]): e is FilestoreError {
  return e instanceof FilestoreError && codes.includes(e.code);
}

async function loadSession(client: FilestoreClient, uploadId: string): Promise<Session> {
  const s = await client.call((t) => t.upload.status.query({ uploadId }));
  return { uploadId, chunkSize: s.chunkSize, chunkCount: s.chunkCount, received: new Set(s.received), state: "state" in s ? String(s.state) : "open" };
}

export async function uploadFile(client: FilestoreClient, localPath: string, opts: UploadFileOptions = {}): Promise<UploadResult> {
  const st = await stat(localPath);
  if (!st.isFile()) throw new FilestoreError("BAD_REQUEST", `Not a regular file: ${localPath}`);
  const size = st.size;
  const name = opts.name ?? path.basename(localPath);
  const parentId = opts.parentId ?? null;
  const progress = (phase: UploadProgress["phase"], done: number) => opts.onProgress?.({ phase, done, total: size });

  let sha256 = opts.sha256?.toLowerCase() ?? null;
  const requestedChunk = opts.chunkSize ?? DEFAULT_CHUNK_BYTES;
  /** Chunk digests from the hashing pass, valid while the session's chunk size is the one asked for. */
  let digests: { chunkSize: number; list: string[] } | null = null;
  const announce = opts.instant ?? size >= INSTANT_MIN_BYTES;
  if (announce && !sha256) {
    let hashed = 0;
    progress("hashing", 0);
    const both = await sha256FileAndChunks(localPath, size, requestedChunk, { signal: opts.signal, onBytes: (n) => progress("hashing", (hashed += n)) });
    sha256 = both.sha256;
    digests = { chunkSize: requestedChunk, list: both.chunks };
  }

  let session: Session | null = null;
  if (opts.resumeUploadId) {
    try {
      session = await loadSession(client, opts.resumeUploadId);
    } catch (e) {
      if (!isCode(e, "NOT_FOUND")) throw e;
    }
  }
  let announced = announce ? sha256 : null;
  if (!session) {
    let init: InitResult;
    try {
      init = await client.call((t) =>
        t.upload.init.mutate({ name, size, parentId, chunkSize: requestedChunk, ...(announced ? { sha256: announced } : {}) }),
      );
    } catch (e) {
      // Digest announcements are throttled per user (a tree of many files): upload without 秒传.
      if (!announced || !isCode(e, "TOO_MANY_REQUESTS")) throw e;
      announced = null;
      init = await client.call((t) => t.upload.init.mutate({ name, size, parentId, chunkSize: requestedChunk }));
    }
    if ("instant" in init) {
      await opts.onSession?.({ uploadId: init.uploadId, sha256: announced, chunkSize: 0, chunkCount: 0 });
      try {
        const proof = await proofFor(localPath, init.instant.ranges);
        const { file } = await client.call((t) => t.upload.prove.mutate({ uploadId: init.uploadId, challengeId: init.instant.challengeId, proof }));
        progress("completing", size);
        return { file, uploadId: init.uploadId, instant: true, sentBytes: 0, resumedChunks: 0, sha256 };
      } catch (e) {
        // Refused (the file changed, the content went away) or throttled: the session goes on as a chunked upload.
        if (!isCode(e, "FORBIDDEN", "TOO_MANY_REQUESTS")) throw e;
      }
      session = await loadSession(client, init.uploadId);
    } else {
      session = { uploadId: init.uploadId, chunkSize: init.chunkSize, chunkCount: init.chunkCount, received: new Set(init.received), state: "open" };
      if (!announced && session.received.size > 0) {
        // init found an open session of the same name and size but no digest to tie it to this
        // content: its chunks may be another file's. Start a clean one rather than complete a mix.
        await client.call((t) => t.upload.abort.mutate({ uploadId: init.uploadId })).catch(() => {});
        const fresh = await client.call((t) => t.upload.init.mutate({ name, size, parentId, chunkSize: requestedChunk }));
        if ("instant" in fresh || fresh.uploadId === init.uploadId) {
          throw new FilestoreError("CONFLICT", `Another upload of ${name} (same size) is open in that folder; try again once it has finished`);
        }
        session = { uploadId: fresh.uploadId, chunkSize: fresh.chunkSize, chunkCount: fresh.chunkCount, received: new Set(fresh.received), state: "open" };
      }
    }
  }
  await opts.onSession?.({ uploadId: session.uploadId, sha256: announced, chunkSize: session.chunkSize, chunkCount: session.chunkCount });

  const resumedChunks = session.received.size;
  const known = digests?.chunkSize === session.chunkSize ? digests.list : [];
  let sentBytes = 0;
  if (session.state === "open") {
    sentBytes = await sendChunks(client, localPath, size, session, opts, progress, known);
  }
  progress("completing", size);
  const file = await completeWithRetry(client, localPath, size, session, opts, progress, known, (n) => (sentBytes += n));
  return { file, uploadId: session.uploadId, instant: false, sentBytes, resumedChunks, sha256: sha256 ?? file.sha256 };
}

async function completeWithRetry(
  client: FilestoreClient,
  localPath: string,
  size: number,
  session: Session,
  opts: UploadFileOptions,
  progress: (phase: UploadProgress["phase"], done: number) => void,
  digests: readonly string[],
  addSent: (n: number) => void,
): Promise<Entry> {
  for (let attempt = 1; ; attempt++) {
    try {
      const { file } = await client.call((t) => t.upload.complete.mutate({ uploadId: session.uploadId }));
      return file;
    } catch (e) {
      if (attempt >= 5) throw e;
      if (isCode(e, "PRECONDITION_FAILED")) {
        // Chunks the server dropped or never recorded: send them and complete again.
        session.received = (await loadSession(client, session.uploadId)).received;
        addSent(await sendChunks(client, localPath, size, session, opts, progress, digests));
        continue;
      }
      if (isCode(e, "CONFLICT")) {
        // Completing already (an earlier run's complete still working): wait for its result.
        await sleep(1000 * attempt, opts.signal);
        continue;
      }
      if (isCode(e, "BAD_REQUEST") && e.details.expected) {
        throw new FilestoreError("CHANGED", `${localPath} changed while it was being uploaded (its SHA-256 is no longer the one announced)`, { cause: e });
      }
      if (isCode(e, "NETWORK")) {
        await sleep(retryDelay(attempt, null), opts.signal);
        continue;
      }
      throw e;
    }
  }
}

