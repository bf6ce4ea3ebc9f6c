import type { HashReply, HashRequest } from "./hash-protocol";

// The page's side of hashing: a small pool of hashing workers (hash.worker.ts, SHA-256 in
// WebAssembly). Each request goes to the worker with the fewest jobs; an AbortSignal cancels it
// between slices. The worker factory is a parameter because bundlers only recognise
// `new Worker(new URL("./hash.worker.ts", import.meta.url))` written at the call site (upload
// engine), and the benchmark page loads its own bundle of the same worker.

type Pending = {
  resolve: (sha256: string) => void;
  reject: (e: unknown) => void;
  onProgress?: (hashed: number) => void;
  worker: PooledWorker;
};

interface PooledWorker {
  worker: Worker;
  jobs: number;
}

export interface HashPool {
  /** The lowercase hex SHA-256 of the whole blob; `onProgress` gets the bytes hashed so far. */
  hashBlob(blob: Blob, opts?: { signal?: AbortSignal; onProgress?: (hashed: number) => void }): Promise<string>;
  /** The SHA-256 of the given ranges of the blob concatenated in order. */
  hashRanges(blob: Blob, ranges: ReadonlyArray<{ offset: number; length: number }>, signal?: AbortSignal): Promise<string>;
  terminate(): void;
}

const abortError = () => new DOMException("Hashing was cancelled", "AbortError");

export function createHashPool(spawn: () => Worker, size: number): HashPool {
  const workers: PooledWorker[] = [];
  const pending = new Map<number, Pending>();
  let nextId = 0;

  function start(): PooledWorker {
    const pooled: PooledWorker = { worker: spawn(), jobs: 0 };
    pooled.worker.onmessage = (event: MessageEvent<HashReply>) => {
      const reply = event.data;
      const job = pending.get(reply.id);
      if (!job) return;
      if (reply.type === "progress") {
        job.onProgress?.(reply.hashed);
        return;
      }
      pending.delete(reply.id);
      job.worker.jobs--;
      if (reply.type === "done") job.resolve(reply.sha256);
      else job.reject(reply.cancelled ? abortError() : new Error(`Hashing failed: ${reply.message}`));
    };
    // A worker that cannot load or crashes fails its jobs (the caller retries or reports them) and
    // is replaced on the next request.
    pooled.worker.onerror = (event) => {
      event.preventDefault();
      const index = workers.indexOf(pooled);
      if (index >= 0) workers.splice(index, 1);
      pooled.worker.terminate();
      for (const [id, job] of pending) {
        if (job.worker !== pooled) continue;
        pending.delete(id);
        job.reject(new Error(`The hashing worker failed: ${event.message || "it could not start"}`));
      }
    };
    workers.push(pooled);
    return pooled;
  }

  function pick(): PooledWorker {
    if (workers.length < size) {
      const idle = workers.find((w) => w.jobs === 0);
      if (idle) return idle;
      return start();
    }
    return workers.reduce((a, b) => (b.jobs < a.jobs ? b : a));
  }

  type Job = { type: "file"; blob: Blob } | { type: "ranges"; blob: Blob; ranges: ReadonlyArray<{ offset: number; length: number }> };

  function run(request: Job, signal?: AbortSignal, onProgress?: (hashed: number) => void) {
    return new Promise<string>((resolve, reject) => {
      if (signal?.aborted) return reject(abortError());
      const id = ++nextId;
      const pooled = pick();
      pooled.jobs++;
      const onAbort = () => pooled.worker.postMessage({ type: "cancel", id } satisfies HashRequest);
      signal?.addEventListener("abort", onAbort, { once: true });
      const settle = () => signal?.removeEventListener("abort", onAbort);
      pending.set(id, {
        resolve: (sha) => {
          settle();
          resolve(sha);
        },
        reject: (e) => {
          settle();
          reject(e);
        },
        onProgress,
        worker: pooled,
      });
      pooled.worker.postMessage({ ...request, id } as HashRequest);
    });
  }

  return {
    hashBlob: (blob, opts = {}) => run({ type: "file", blob }, opts.signal, opts.onProgress),
    hashRanges: (blob, ranges, signal) => run({ type: "ranges", blob, ranges }, signal),
    terminate() {
      for (const w of workers) w.worker.terminate();
      workers.length = 0;
      for (const job of pending.values()) job.reject(abortError());
      pending.clear();
    },
  };
}
