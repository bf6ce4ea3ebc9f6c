import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import type { FileHandle } from "node:fs/promises";

// SHA-256 of local files, streamed (1 MiB reads): a whole file, a byte range, or the 秒传 proof
// (the SHA-256 of the challenged ranges concatenated in order, API.md upload.prove).

const READ_BYTES = 1024 * 1024;

/** Hex SHA-256 of bytes [start, start + length) of `path` (the whole file by default). */
export async function sha256File(
  path: string,
  opts: { start?: number; length?: number; onBytes?: (n: number) => void; signal?: AbortSignal } = {},
): Promise<string> {
  const hash = createHash("sha256");
  await hashInto(hash, path, opts);
  return hash.digest("hex");
}

async function hashInto(
  hash: ReturnType<typeof createHash>,
  path: string,
  opts: { start?: number; length?: number; onBytes?: (n: number) => void; signal?: AbortSignal },
): Promise<number> {
  if (opts.length === 0) return 0;
  const start = opts.start ?? 0;
  const end = opts.length === undefined ? undefined : start + opts.length - 1;
  const stream = createReadStream(path, { start, end, highWaterMark: READ_BYTES, signal: opts.signal });
  let seen = 0;
  for await (const buf of stream) {
    hash.update(buf as Buffer);
    seen += (buf as Buffer).length;
    opts.onBytes?.((buf as Buffer).length);
  }
  if (opts.length !== undefined && seen !== opts.length) {
    throw new Error(`${path} is shorter than expected (read ${seen} of ${opts.length} bytes at offset ${start})`);
  }
  return seen;
}

/** The answer to a 秒传 challenge: SHA-256 of the ranges' bytes, concatenated in order. */
export async function proofFor(path: string, ranges: ReadonlyArray<{ offset: number; length: number }>): Promise<string> {
  const hash = createHash("sha256");
  for (const r of ranges) await hashInto(hash, path, { start: r.offset, length: r.length });
  return hash.digest("hex");
}

/** Hashes the first `length` bytes of an open file into `hash` (a download's prefix on resume). */
export async function hashPrefix(handle: FileHandle, length: number, hash: ReturnType<typeof createHash>, onBytes?: (n: number) => void): Promise<void> {
  const buf = Buffer.allocUnsafe(READ_BYTES);
  let pos = 0;
  while (pos < length) {
    const { bytesRead } = await handle.read(buf, 0, Math.min(READ_BYTES, length - pos), pos);
    if (bytesRead === 0) throw new Error(`file ended at ${pos} of ${length} bytes`);
    hash.update(buf.subarray(0, bytesRead));
    pos += bytesRead;
    onBytes?.(bytesRead);
  }
}

/** RFC 9530 Content-Digest value for a hex SHA-256. */
export function contentDigest(hexSha256: string): string {
  return `sha-256=:${Buffer.from(hexSha256, "hex").toString("base64")}:`;
}
