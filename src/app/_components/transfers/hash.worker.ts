/// <reference lib="webworker" />
import { createSHA256, type IHasher } from "hash-wasm";
import { HASH_SLICE_BYTES, PROGRESS_EVERY_MS, type HashReply, type HashRequest } from "./hash-protocol";

// The hashing worker: SHA-256 in WebAssembly (hash-wasm), off the page's main thread, streaming a
// Blob so a file of any size is hashed in constant memory. A whole file is read with Blob.stream()
// (the browser reads ahead while we hash, and it was the fastest way to read a picked file in
// Chromium, measured in bench/browser-hash.ts); ranges are read as slices, the next one requested
// before the current one is hashed.

declare const self: DedicatedWorkerGlobalScope;

const cancelled = new Set<number>();
let hasherPromise: Promise<IHasher> | null = null;
const queue: Array<Extract<HashRequest, { type: "file" | "ranges" }>> = [];
let running = false;

const post = (reply: HashReply) => self.postMessage(reply);

class Cancelled extends Error {}

async function hashSpans(id: number, blob: Blob, spans: ReadonlyArray<{ offset: number; length: number }>): Promise<string> {
  hasherPromise ??= createSHA256();
  const hasher = (await hasherPromise).init();
  // Slices to read, in order: each span cut into pieces of at most HASH_SLICE_BYTES.
  const slices: Array<[number, number]> = [];
  for (const { offset, length } of spans) {
    for (let at = offset; at < offset + length; at += HASH_SLICE_BYTES) slices.push([at, Math.min(offset + length, at + HASH_SLICE_BYTES)]);
  }
  const read = (i: number) => (i < slices.length ? blob.slice(slices[i]![0], slices[i]![1]).arrayBuffer() : null);
  let next = read(0);
  for (let i = 0; next !== null; i++) {
    const bytes = await next;
    if (cancelled.has(id)) throw new Cancelled();
    next = read(i + 1);
    hasher.update(new Uint8Array(bytes));
  }
  return hasher.digest("hex");
}

async function hashStream(id: number, blob: Blob): Promise<string> {
  hasherPromise ??= createSHA256();
  const hasher = (await hasherPromise).init();
  const reader = blob.stream().getReader();
  let hashed = 0;
  let reportedAt = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (cancelled.has(id)) throw new Cancelled();
      hasher.update(value);
      hashed += value.byteLength;
      const now = performance.now();
      if (now - reportedAt >= PROGRESS_EVERY_MS) {
        reportedAt = now;
        post({ type: "progress", id, hashed });
      }
    }
  } finally {
    reader.releaseLock();
  }
  return hasher.digest("hex");
}

async function drain(): Promise<void> {
  if (running) return;
  running = true;
  try {
    for (let job = queue.shift(); job; job = queue.shift()) {
      const { id } = job;
      if (cancelled.delete(id)) {
        post({ type: "error", id, message: "cancelled", cancelled: true });
        continue;
      }
      try {
        const sha256 =
          job.type === "file" ? await hashStream(id, job.blob) : await hashSpans(id, job.blob, job.ranges);
        post({ type: "done", id, sha256 });
      } catch (e) {
        post({ type: "error", id, message: e instanceof Error ? e.message : String(e), cancelled: e instanceof Cancelled });
      } finally {
        cancelled.delete(id);
      }
    }
  } finally {
    running = false;
  }
}

self.onmessage = (event: MessageEvent<HashRequest>) => {
  const message = event.data;
  if (message.type === "cancel") {
    // Only remembered for a job that is still to run or running; a finished one has nothing to stop.
    if (running || queue.some((j) => j.id === message.id)) cancelled.add(message.id);
    return;
  }
  queue.push(message);
  void drain();
};
