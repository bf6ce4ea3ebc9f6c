"use client";

import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { api } from "~/trpc/react";
import { errorCode, errorMessage } from "./errors";
import { formatBytes } from "./format";
import { Sha256, sha256OfBlob } from "./sha256";

// Browser uploads through the chunked, resumable protocol (API.md "Upload sessions"):
// hash the file (SHA-256, a slice at a time) → upload.init with the hash → either 秒传 (the server
// already holds that content: answer its challenge with upload.prove, no byte is sent) or
// PUT /api/uploads/{id}/chunks/{i} for every chunk the server does not hold yet (a few at a time,
// each retried with backoff) → upload.complete. Chunks are Blob slices of the picked File, so a
// file is never read into memory. Calling init again with the same name, size, hash and folder
// returns the open session, which is how an interrupted upload resumes after a reload.

const MiB = 1024 * 1024;
/** Chunks of one file in flight at once. */
const PARALLEL_CHUNKS = 3;
/** Files uploading at once (each with its own chunks in flight). */
const PARALLEL_FILES = 2;
/** Attempts per chunk before the file is marked failed. */
const CHUNK_ATTEMPTS = 5;
/**
 * Smaller files are sent without a hash: 秒传 would save at most one chunk, and every init that
 * announces a hash counts against the server's per-user probe budget (API.md: hash probes are
 * throttled), which a folder of small files would use up.
 */
const INSTANT_MIN_BYTES = 1 * MiB;

/**
 * The chunk size asked of upload.init: small chunks for small files (fine-grained progress and
 * resume), bigger ones for big files (fewer requests). The server may raise it (storage minimums);
 * its answer is what counts.
 */
export function chunkSizeFor(size: number): number {
  if (size <= 32 * MiB) return MiB;
  if (size <= 256 * MiB) return 4 * MiB;
  if (size <= 8 * 1024 * MiB) return 8 * MiB;
  return Math.min(64 * MiB, Math.ceil(size / 1024 / MiB) * MiB);
}

export type UploadState = "queued" | "hashing" | "uploading" | "finishing" | "done" | "error" | "cancelled";

/** States in which an upload still has work to do (cancel applies, leaving the page warns). */
export const activeStates: ReadonlySet<UploadState> = new Set(["queued", "hashing", "uploading", "finishing"]);

export interface UploadRow {
  key: string;
  name: string;
  size: number;
  parentId: string | null;
  /** Bytes the server holds (received chunks plus the in-flight chunks' progress). */
  loaded: number;
  state: UploadState;
  error?: string;
  uploadId?: string;
  /** Bytes hashed so far (state "hashing"). */
  hashed?: number;
  /** Chunks the server already had when this upload started (a resumed session). */
  resumedChunks?: number;
  /** Finished by 秒传: the server already held the content and no byte was sent. */
  instant?: boolean;
}

interface Job {
  row: UploadRow;
  file: File;
  controller: AbortController;
  uploadId?: string;
  sha256?: string;
}

class ChunkError extends Error {
  constructor(
    readonly status: number,
    readonly code: string | null,
    message: string,
    readonly retryAfterMs: number | null,
  ) {
    super(message);
  }
  get retryable(): boolean {
    return this.status === 0 || this.status === 408 || this.status === 422 || this.status === 429 || this.status >= 500;
  }
}

/** A failure whose message is already meant for the user. */
class UploadFailure extends Error {}

const abortError = () => new DOMException("The upload was cancelled", "AbortError");
const isAbort = (e: unknown) => e instanceof DOMException && e.name === "AbortError";

/** One PUT of raw chunk bytes, with upload progress (fetch has none, hence XHR). */
function putChunk(uploadId: string, index: number, body: Blob, signal: AbortSignal, onProgress: (sent: number) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(abortError());
    const xhr = new XMLHttpRequest();
    xhr.open("PUT", `/api/uploads/${encodeURIComponent(uploadId)}/chunks/${index}`);
    xhr.setRequestHeader("content-type", "application/octet-stream");
    xhr.withCredentials = true;
    const onAbort = () => xhr.abort();
    signal.addEventListener("abort", onAbort, { once: true });
    xhr.upload.onprogress = (e) => onProgress(e.loaded);
    xhr.onabort = () => reject(abortError());
    xhr.onerror = () => reject(new ChunkError(0, null, "Network error", null));
    xhr.ontimeout = () => reject(new ChunkError(0, null, "Timed out", null));
    xhr.onloadend = () => signal.removeEventListener("abort", onAbort);
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) return resolve();
      let code: string | null = null;
      let message = `HTTP ${xhr.status}`;
      try {
        const body = JSON.parse(xhr.responseText) as { error?: { code?: string; message?: string } };
        code = body.error?.code ?? null;
        message = body.error?.message ?? message;
      } catch {
        // not JSON (a proxy's error page): keep the status
      }
      const retryAfter = Number(xhr.getResponseHeader("retry-after"));
      reject(new ChunkError(xhr.status, code, message, Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : null));
    };
    xhr.send(body);
  });
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(abortError());
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError());
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

function chunkErrorMessage(e: ChunkError): string {
  switch (e.code ?? "") {
    case "PAYLOAD_TOO_LARGE":
      return "Not enough space in your drive.";
    case "UNAUTHORIZED":
      return "You have been signed out. Sign in again and pick the file again to resume.";
    case "NOT_FOUND":
      return "The upload session expired or was cancelled.";
    case "TOO_MANY_REQUESTS":
      return "The server is busy. Try again in a moment.";
  }
  if (e.status === 0) return "Network error: check your connection, then retry to resume.";
  if (e.status === 413) return "The server refused a chunk as too large (is a proxy limiting request bodies?).";
  return `The server refused a chunk: ${e.message}`;
}

/** The answer to a 秒传 challenge: the SHA-256 of the challenged ranges of the file, in order. */
async function proofOf(file: Blob, ranges: ReadonlyArray<{ offset: number; length: number }>, signal: AbortSignal): Promise<string> {
  const hash = new Sha256();
  for (const { offset, length } of ranges) {
    signal.throwIfAborted();
    if (length > 0) hash.update(new Uint8Array(await file.slice(offset, offset + length).arrayBuffer()));
  }
  return hash.hex();
}

let nextKey = 0;

export function useUploader() {
  const utils = api.useUtils();
  const client = utils.client;
  const [rows, setRows] = useState<UploadRow[]>([]);
  const jobs = useRef(new Map<string, Job>());
  const running = useRef(0);

  const update = useCallback((key: string, patch: Partial<UploadRow>) => {
    const job = jobs.current.get(key);
    if (job) job.row = { ...job.row, ...patch };
    setRows((list) => list.map((r) => (r.key === key ? { ...r, ...patch } : r)));
  }, []);

  const runJob = useCallback(
    async (job: Job) => {
      const { file, controller } = job;
      const { key, parentId } = job.row;
      const signal = controller.signal;
      try {
        // Hashed once per picked file: a retry reuses it.
        let sha256 = job.sha256;
        if (sha256 === undefined && file.size >= INSTANT_MIN_BYTES) {
          update(key, { state: "hashing", hashed: 0, error: undefined });
          sha256 = job.sha256 = await sha256OfBlob(file, { signal, onProgress: (hashed) => update(key, { hashed }) });
        }
        update(key, { state: "uploading", error: undefined });
        const wanted = { name: file.name, size: file.size, parentId, chunkSize: chunkSizeFor(file.size) };
        let init;
        try {
          init = await client.upload.init.mutate({ ...wanted, sha256 }, { signal });
        } catch (e) {
          // Out of hash probes for now: upload the bytes without asking for 秒传.
          if (!sha256 || errorCode(e) !== "TOO_MANY_REQUESTS") throw e;
          init = await client.upload.init.mutate(wanted, { signal });
        }
        job.uploadId = init.uploadId;
        update(key, { uploadId: init.uploadId });

        let plan: { chunkSize: number; chunkCount: number; received: number[] };
        if ("instant" in init) {
          try {
            const proof = await proofOf(file, init.instant.ranges, signal);
            await client.upload.prove.mutate({ uploadId: init.uploadId, challengeId: init.instant.challengeId, proof }, { signal });
            update(key, { state: "done", loaded: file.size, instant: true });
            afterUpload();
            return;
          } catch (e) {
            // A refused proof leaves an ordinary chunked session behind, and a throttled one an
            // open session that takes chunks all the same: send the bytes instead.
            const code = errorCode(e);
            if (code !== "FORBIDDEN" && code !== "TOO_MANY_REQUESTS") throw e;
            plan = await client.upload.status.query({ uploadId: init.uploadId }, { signal });
          }
        } else {
          plan = init;
        }

        const { chunkSize, chunkCount } = plan;
        const lengthOf = (i: number) => Math.min(chunkSize, file.size - i * chunkSize);
        const have = new Set(plan.received);
        let done = [...have].reduce((sum, i) => sum + lengthOf(i), 0);
        const inFlight = new Map<number, number>();
        const report = () => update(key, { loaded: done + [...inFlight.values()].reduce((a, b) => a + b, 0) });
        update(key, { loaded: done, resumedChunks: have.size || undefined });

        const todo = Array.from({ length: chunkCount }, (_, i) => i).filter((i) => !have.has(i));
        // One failed chunk fails the file: the other workers stop too (and their requests end),
        // so a retry never races a previous attempt.
        const chunks = new AbortController();
        const stopChunks = () => chunks.abort();
        signal.addEventListener("abort", stopChunks, { once: true });
        const worker = async () => {
          for (let i = todo.shift(); i !== undefined; i = todo.shift()) {
            const blob = file.slice(i * chunkSize, i * chunkSize + lengthOf(i));
            for (let attempt = 1; ; attempt++) {
              try {
                await putChunk(init.uploadId, i, blob, chunks.signal, (sent) => {
                  inFlight.set(i, sent);
                  report();
                });
                break;
              } catch (e) {
                inFlight.delete(i);
                if (!(e instanceof ChunkError) || !e.retryable || attempt >= CHUNK_ATTEMPTS) throw e;
                await sleep(e.retryAfterMs ?? 500 * 2 ** (attempt - 1), chunks.signal);
              }
            }
            inFlight.delete(i);
            done += lengthOf(i);
            report();
          }
        };
        try {
          await Promise.all(
            Array.from({ length: Math.min(PARALLEL_CHUNKS, todo.length) }, () =>
              worker().catch((e: unknown) => {
                chunks.abort();
                throw e;
              }),
            ),
          );
        } finally {
          signal.removeEventListener("abort", stopChunks);
        }

        update(key, { state: "finishing", loaded: file.size });
        try {
          await client.upload.complete.mutate({ uploadId: init.uploadId }, { signal });
        } catch (e) {
          // The bytes did not hash to what was announced at init: the file changed on disk.
          if (errorCode(e) === "BAD_REQUEST") throw new UploadFailure("The file changed while it was being uploaded. Pick it again to upload it anew.");
          throw e;
        }
        update(key, { state: "done" });
        afterUpload();
      } catch (e) {
        if (isAbort(e) || signal.aborted) {
          update(key, { state: "cancelled" });
          return;
        }
        const message =
          e instanceof ChunkError
            ? chunkErrorMessage(e)
            : e instanceof UploadFailure
              ? e.message
              : errorMessage(e, {
                NOT_FOUND: "The folder no longer exists, or the upload expired.",
                PAYLOAD_TOO_LARGE: `Not enough space in your drive for “${file.name}” (${formatBytes(file.size)}).`,
                UNAUTHORIZED: "You have been signed out. Sign in again and pick the file again to resume.",
                CONFLICT: "This upload is already being finished in another tab.",
              });
        update(key, { state: "error", error: message });
      }

      function afterUpload() {
        void utils.file.list.invalidate();
        void utils.user.me.invalidate();
        void utils.upload.pending.invalidate();
      }
    },
    [client, update, utils],
  );

  const pump = useCallback(() => {
    while (running.current < PARALLEL_FILES) {
      const next = [...jobs.current.values()].find((j) => j.row.state === "queued");
      if (!next) return;
      running.current++;
      next.row = { ...next.row, state: "uploading" };
      void runJob(next).finally(() => {
        running.current--;
        pump();
      });
    }
  }, [runJob]);

  const add = useCallback(
    (files: File[], parentId: string | null) => {
      const added: UploadRow[] = files.map((file) => {
        const row: UploadRow = { key: `u${++nextKey}`, name: file.name, size: file.size, parentId, loaded: 0, state: "queued" };
        jobs.current.set(row.key, { row, file, controller: new AbortController() });
        return row;
      });
      setRows((list) => [...list, ...added]);
      pump();
    },
    [pump],
  );

  const cancel = useCallback(
    (key: string) => {
      const job = jobs.current.get(key);
      if (!job || !(activeStates.has(job.row.state) || job.row.state === "error")) return;
      job.controller.abort();
      if (job.row.state === "queued" || job.row.state === "error") update(key, { state: "cancelled" });
      // Frees the reserved space and the stored chunks now rather than when the session expires.
      if (job.uploadId) {
        void client.upload.abort
          .mutate({ uploadId: job.uploadId })
          .catch(() => undefined)
          .finally(() => {
            void utils.upload.pending.invalidate();
            void utils.user.me.invalidate();
          });
      }
    },
    [client, update, utils],
  );

  /** A failed upload starts again; init returns the same session, so received chunks are kept. */
  const retry = useCallback(
    (key: string) => {
      const job = jobs.current.get(key);
      if (!job || job.row.state !== "error") return;
      job.controller = new AbortController();
      update(key, { state: "queued", error: undefined });
      pump();
    },
    [pump, update],
  );

  const clearFinished = useCallback(() => {
    for (const [key, job] of jobs.current) {
      if (job.row.state === "done" || job.row.state === "cancelled") jobs.current.delete(key);
    }
    setRows((list) => list.filter((r) => r.state !== "done" && r.state !== "cancelled"));
  }, []);

  // Leaving the page aborts the requests in flight; the sessions stay open for a later resume.
  useEffect(() => {
    const all = jobs.current;
    return () => {
      for (const job of all.values()) job.controller.abort();
    };
  }, []);

  return useMemo(() => ({ rows, add, cancel, retry, clearFinished }), [rows, add, cancel, retry, clearFinished]);
}
