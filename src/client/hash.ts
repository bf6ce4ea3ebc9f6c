import { createHash } from "node:crypto";
import { open, type FileHandle } from "node:fs/promises";

// SHA-256 of local files, read in 1 MiB pieces into one reused buffer (no garbage per read): a
// whole file, a byte range, a whole file together with the digest of each chunk (one read for
// both), or the 秒传 proof (the SHA-256 of the challenged ranges concatenated in order).

const READ_BYTES = 1024 * 1024;

type Hash = ReturnType<typeof createHash>;

/** Feeds bytes [start, start + length) of an open file to `each` (the buffer is reused: copy to keep). */
async function readRange(handle: FileHandle, start: number, length: number, each: (bytes: Buffer, at: number) => void, signal?: AbortSignal): Promise<void> {
  const buf = Buffer.allocUnsafe(Math.min(READ_BYTES, Math.max(length, 1)));
  let pos = 0;
  while (pos < length) {
    signal?.throwIfAborted();
    const { bytesRead } = await handle.read(buf, 0, Math.min(buf.length, length - pos), start + pos);
    if (bytesRead === 0) throw new Error(`file ended at ${start + pos}, ${length - pos} bytes before the expected end`);
    each(buf.subarray(0, bytesRead), start + pos);
    pos += bytesRead;
  }
}

async function withFile<T>(path: string, fn: (handle: FileHandle) => Promise<T>): Promise<T> {
  const handle = await open(path, "r");
  try {
    return await fn(handle);
  } finally {
    await handle.close();
  }
}

/** Hex SHA-256 of bytes [start, start + length) of `path` (the whole file by default). */
export async function sha256File(
  path: string,
  opts: { start?: number; length?: number; onBytes?: (n: number) => void; signal?: AbortSignal } = {},
): Promise<string> {
  return withFile(path, async (handle) => {
    const start = opts.start ?? 0;
    const length = opts.length ?? (await handle.stat()).size - start;
    const hash = createHash("sha256");
    await readRange(handle, start, length, (b) => (hash.update(b), opts.onBytes?.(b.length)), opts.signal);
    return hash.digest("hex");
  });
}

/**
 * The whole file's SHA-256 and, in the same read, the SHA-256 of each `chunkSize` chunk (what the
 * chunk PUTs send as Content-Digest).
 */
export async function sha256FileAndChunks(
  path: string,
  size: number,
  chunkSize: number,
  opts: { onBytes?: (n: number) => void; signal?: AbortSignal } = {},
): Promise<{ sha256: string; chunks: string[] }> {
  return withFile(path, async (handle) => {
    const whole = createHash("sha256");
    const chunks: string[] = [];
    let chunk: Hash = createHash("sha256");
    let inChunk = 0;
    await readRange(
      handle,
      0,
      size,
      (b) => {
        whole.update(b);
        opts.onBytes?.(b.length);
        for (let off = 0; off < b.length; ) {
          const take = Math.min(b.length - off, chunkSize - inChunk);
          chunk.update(off === 0 && take === b.length ? b : b.subarray(off, off + take));
          inChunk += take;
          off += take;
          if (inChunk === chunkSize) {
            chunks.push(chunk.digest("hex"));
            chunk = createHash("sha256");
            inChunk = 0;
          }
        }
      },
      opts.signal,
    );
    if (inChunk > 0) chunks.push(chunk.digest("hex"));
    return { sha256: whole.digest("hex"), chunks };
  });
}

/** The answer to a 秒传 challenge: SHA-256 of the ranges' bytes, concatenated in order. */
export async function proofFor(path: string, ranges: ReadonlyArray<{ offset: number; length: number }>): Promise<string> {
  return withFile(path, async (handle) => {
    const hash = createHash("sha256");
    for (const r of ranges) await readRange(handle, r.offset, r.length, (b) => hash.update(b));
    return hash.digest("hex");
  });
}

/** Hashes the first `length` bytes of an open file into `hash` (a download's prefix on resume). */
export async function hashPrefix(handle: FileHandle, length: number, hash: Hash, onBytes?: (n: number) => void): Promise<void> {
  await readRange(handle, 0, length, (b) => (hash.update(b), onBytes?.(b.length)));
}

/** RFC 9530 Content-Digest value for a hex SHA-256. */
export function contentDigest(hexSha256: string): string {
  return `sha-256=:${Buffer.from(hexSha256, "hex").toString("base64")}:`;
}
