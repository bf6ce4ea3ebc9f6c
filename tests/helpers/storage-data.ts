import { createCipheriv, createHash } from "node:crypto";
import { Readable } from "node:stream";

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

/** Samples process RSS every `intervalMs` until stop(); reports the peak above the starting value. */
export function sampleRss(intervalMs = 20): { stop(): { baseline: number; peak: number; growth: number } } {
  const baseline = process.memoryUsage.rss();
  let peak = baseline;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      peak = Math.max(peak, process.memoryUsage.rss());
      return { baseline, peak, growth: peak - baseline };
    },
  };
}
