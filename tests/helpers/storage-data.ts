import { createCipheriv, createHash } from "node:crypto";
import { Readable, Transform } from "node:stream";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

// Deterministic test bytes (an AES-128-CTR keystream: fast, incompressible, reproducible from a seed)
// and stream readers that hash instead of buffering, so big objects never sit in memory.

const CHUNK = 256 * 1024;
const ZEROS = Buffer.alloc(CHUNK);

/** `size` bytes derived from `seed`, as a stream; `sha256()` is the digest once the stream has ended. */
export function deterministicStream(seed: string, size: number, chunkBytes = CHUNK): Readable & { sha256(): string } {
  const key = createHash("sha256").update(seed).digest().subarray(0, 16);
  const cipher = createCipheriv("aes-128-ctr", key, Buffer.alloc(16));
  const hash = createHash("sha256");
  let remaining = size;
  let digest: string | undefined;
  const zeros = chunkBytes === CHUNK ? ZEROS : Buffer.alloc(chunkBytes);
  const stream = new Readable({
    read() {
      if (remaining === 0) {
        digest = hash.digest("hex");
        this.push(null);
        return;
      }
      const n = Math.min(chunkBytes, remaining);
      const chunk = cipher.update(n === chunkBytes ? zeros : zeros.subarray(0, n));
      hash.update(chunk);
      remaining -= n;
      this.push(chunk);
    },
  });
  return Object.assign(stream, {
    sha256(): string {
      if (digest === undefined) throw new Error("deterministicStream: sha256() before the stream ended");
      return digest;
    },
  });
}

/** The same bytes as deterministicStream(seed, size), in memory (for small bodies only). */
export function deterministicBytes(seed: string, size: number): Buffer {
  const key = createHash("sha256").update(seed).digest().subarray(0, 16);
  return createCipheriv("aes-128-ctr", key, Buffer.alloc(16)).update(Buffer.alloc(size));
}

export function sha256(data: Buffer | string): string {
  return createHash("sha256").update(data).digest("hex");
}

/** Reads a stream to the end, keeping only its length and SHA-256. */
export async function hashStream(stream: Readable): Promise<{ size: number; sha256: string }> {
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of stream) {
    const buf = chunk as Buffer;
    size += buf.length;
    hash.update(buf);
  }
  return { size, sha256: hash.digest("hex") };
}

/** Reads a (small) stream into one Buffer. */
export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

let gcFunction: (() => void) | undefined;

/** A full garbage collection (V8's gc, exposed at run time: vitest workers do not start with --expose-gc). */
export function forceGc(): void {
  if (!gcFunction) {
    setFlagsFromString("--expose-gc");
    gcFunction = runInNewContext("gc") as () => void;
  }
  gcFunction();
}

export interface RssReport {
  baseline: number;
  /** Highest RSS seen by the timer, garbage included (V8 frees Buffers lazily). */
  rawPeakGrowth: number;
  /** Highest RSS right after a full GC at a checkpoint: the memory the transfer really holds. */
  liveGrowth: number;
}

/**
 * Samples process RSS every `intervalMs` (raw peak) and, at each checkpoint(), right after a full GC
 * (live memory). A transfer that buffered the object would show its size in both.
 */
export function sampleRss(intervalMs = 20): { checkpoint(): void; stop(): RssReport } {
  forceGc();
  const baseline = process.memoryUsage.rss();
  let rawPeak = baseline;
  let livePeak = baseline;
  const timer = setInterval(() => {
    rawPeak = Math.max(rawPeak, process.memoryUsage.rss());
  }, intervalMs);
  return {
    checkpoint() {
      rawPeak = Math.max(rawPeak, process.memoryUsage.rss());
      forceGc();
      livePeak = Math.max(livePeak, process.memoryUsage.rss());
    },
    stop() {
      clearInterval(timer);
      rawPeak = Math.max(rawPeak, process.memoryUsage.rss());
      return { baseline, rawPeakGrowth: rawPeak - baseline, liveGrowth: livePeak - baseline };
    },
  };
}

/** Passes bytes through and calls `fn` after every `bytes` bytes (for memory checkpoints mid-transfer). */
export function everyBytes(bytes: number, fn: () => void): Transform {
  let seen = 0;
  let next = bytes;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      seen += chunk.length;
      if (seen >= next) {
        next += bytes;
        fn();
      }
      done(null, chunk);
    },
  });
}
