import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import type { StorageDriver } from "~/server/storage";

// Copies one object between drivers, streaming, with bounded memory, and verified at the target.
//
// Shape (as tusd's s3store and rclone's multipart uploader): the source is read into part-sized
// buffers taken from a fixed pool of (concurrency + 1); up to `concurrency` parts upload while the
// next one fills, and the reader waits for a free buffer, so memory is (concurrency + 1) × partBytes
// whatever the object's size. Parts are sent with Content-MD5, so the TARGET computes each part's MD5
// and refuses one that differs; the ETag it returns for each part must be that MD5 too.
//
// Verification, and why this way: the worker hashes (SHA-256) exactly the bytes it sends and compares
// the digest with the blob's content address before completing the upload; the target checks every
// part against its MD5 as it lands; after completing, a HEAD must report the blob's size and, where the
// backend reports the S3-style multipart ETag (MD5 of the parts' MD5s, "-N"), exactly that value. So
// the stored object is the bytes whose SHA-256 was checked, without reading 1 GiB back (which would
// double the transfer's I/O and time). Neither RGW 16 nor OSS stores a SHA-256 we could ask for
// (RGW has no x-amz-checksum-sha256; OSS offers CRC-64, which the local gateway cannot show).

export class SourceMissingError extends Error {
  constructor(where: string) {
    super(`the blob's bytes are not at ${where}`);
    this.name = "SourceMissingError";
  }
}

/** The source did not deliver the blob's bytes (wrong length or digest): its copy is damaged. */
export class SourceMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SourceMismatchError";
  }
}

export class TargetMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TargetMismatchError";
  }
}

export interface CopyOptions {
  size: number;
  sha256: string;
  partBytes: number;
  concurrency: number;
  signal?: AbortSignal;
  /** Called once the target's multipart upload exists, before any part is sent (so a crash can be cleaned up). */
  onMultipartCreated?: (uploadId: string) => Promise<void>;
}

export interface CopyResult {
  size: number;
  etag: string;
  parts: number;
}

const md5 = (data: Buffer) => createHash("md5").update(data).digest();

function checkAborted(signal?: AbortSignal) {
  if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new Error("aborted");
}

/** A fixed set of part buffers: take() waits until one is free; this is the memory bound. */
class BufferPool {
  private free: Buffer[];
  private waiters: Array<(b: Buffer) => void> = [];

  constructor(count: number, bytes: number) {
    this.free = Array.from({ length: count }, () => Buffer.allocUnsafe(bytes));
  }

  take(): Promise<Buffer> {
    const b = this.free.pop();
    return b ? Promise.resolve(b) : new Promise((resolve) => this.waiters.push(resolve));
  }

  give(b: Buffer) {
    const next = this.waiters.shift();
    if (next) next(b);
    else this.free.push(b);
  }
}

function partBytesFor(target: StorageDriver, size: number, wanted: number): number {
  const { minPartBytes, maxPartBytes, maxParts } = target.capabilities;
  return Math.min(maxPartBytes, Math.max(wanted, minPartBytes, Math.ceil(size / maxParts)));
}

function assertStored(head: { size: number; etag: string } | null, size: number, expectedEtag: string, where: string) {
  if (!head) throw new TargetMismatchError(`${where}: the object is not there after the write`);
  if (head.size !== size) throw new TargetMismatchError(`${where}: the target reports ${head.size} bytes, expected ${size}`);
  // S3, RGW and OSS report MD5 (single PUT) or MD5-of-MD5s-N (multipart) ETags; compare when it has that form.
  if (/^[0-9a-f]{32}(-\d+)?$/i.test(head.etag) && head.etag.toLowerCase() !== expectedEtag) {
    throw new TargetMismatchError(`${where}: the target's ETag ${head.etag} is not the ${expectedEtag} of the bytes sent`);
  }
}

export async function copyVerified(source: StorageDriver, target: StorageDriver, key: string, options: CopyOptions): Promise<CopyResult> {
  const { size, signal } = options;
  const where = `${target.name}:${key}`;
  checkAborted(signal);
  const body = await source.get(key);
  if (!body) throw new SourceMissingError(`${source.name}:${key}`);
  const partBytes = partBytesFor(target, size, options.partBytes);
  try {
    if (size <= partBytes) return await copySmall(body, target, key, options, where);
    return await copyInParts(body, target, key, { ...options, partBytes }, where);
  } finally {
    body.destroy();
  }
}

async function copySmall(body: Readable, target: StorageDriver, key: string, options: CopyOptions, where: string): Promise<CopyResult> {
  const chunks: Buffer[] = [];
  let got = 0;
  for await (const chunk of body) {
    got += (chunk as Buffer).length;
    if (got > options.size) throw new SourceMismatchError(`the source has more than the blob's ${options.size} bytes`);
    chunks.push(chunk as Buffer);
  }
  checkAborted(options.signal);
  const data = Buffer.concat(chunks);
  if (data.length !== options.size) throw new SourceMismatchError(`the source has ${data.length} bytes, the blob ${options.size}`);
  const digest = createHash("sha256").update(data).digest("hex");
  if (digest !== options.sha256) throw new SourceMismatchError(`the source's SHA-256 is ${digest}, the blob's ${options.sha256}`);
  const contentMd5 = md5(data);
  await target.put(key, Readable.from([data]), { size: data.length, contentMd5: contentMd5.toString("base64") });
  const head = await target.head(key);
  try {
    assertStored(head, options.size, contentMd5.toString("hex"), where);
  } catch (e) {
    await target.delete(key).catch(() => undefined); // ours, and wrong: no blob points at it yet
    throw e;
  }
  return { size: options.size, etag: head!.etag, parts: 1 };
}

async function copyInParts(
  body: Readable,
  target: StorageDriver,
  key: string,
  options: CopyOptions & { partBytes: number },
  where: string,
): Promise<CopyResult> {
  const { size, partBytes, signal } = options;
  const concurrency = Math.max(1, options.concurrency);
  const { uploadId } = await target.multipart.create(key);
  const pool = new BufferPool(concurrency + 1, partBytes);
  const sha = createHash("sha256");
  const partMd5s: Buffer[] = [];
  const uploaded: Array<{ partNumber: number; etag: string }> = [];
  const inFlight = new Set<Promise<void>>();
  let failure: unknown = null;
  let partNumber = 0;
  let total = 0;
  let completed = false;

  const send = (buffer: Buffer, length: number) => {
    const n = ++partNumber;
    const data = buffer.subarray(0, length);
    sha.update(data); // in order: parts are handed over in sequence
    const digest = md5(data);
    partMd5s[n - 1] = digest;
    const task = target.multipart
      .uploadPart(key, uploadId, n, Readable.from([data]), length, { contentMd5: digest.toString("base64") })
      .then(({ etag }) => {
        if (/^[0-9a-f]{32}$/i.test(etag) && etag.toLowerCase() !== digest.toString("hex")) {
          throw new TargetMismatchError(`${where}: part ${n}: the target's ETag ${etag} is not the MD5 of the bytes sent`);
        }
        uploaded.push({ partNumber: n, etag });
      })
      .catch((e: unknown) => {
        failure ??= e;
      })
      .finally(() => {
        inFlight.delete(task);
        pool.give(buffer);
      });
    inFlight.add(task);
  };

  try {
    await options.onMultipartCreated?.(uploadId);
    let buffer = await pool.take();
    let filled = 0;
    for await (const raw of body) {
      let chunk = raw as Buffer;
      while (chunk.length > 0) {
        const n = Math.min(chunk.length, partBytes - filled);
        chunk.copy(buffer, filled, 0, n);
        filled += n;
        total += n;
        chunk = chunk.subarray(n);
        if (total > size) throw new SourceMismatchError(`the source has more than the blob's ${size} bytes`);
        if (filled === partBytes) {
          if (failure) throw failure;
          checkAborted(signal);
          send(buffer, filled);
          buffer = await pool.take();
          filled = 0;
        }
      }
    }
    if (filled > 0) send(buffer, filled);
    else pool.give(buffer);
    await Promise.all(inFlight);
    if (failure) throw failure;
    checkAborted(signal);
    if (total !== size) throw new SourceMismatchError(`the source has ${total} bytes, the blob ${size}`);
    const digest = sha.digest("hex");
    if (digest !== options.sha256) throw new SourceMismatchError(`the source's SHA-256 is ${digest}, the blob's ${options.sha256}`);
    await target.multipart.complete(key, uploadId, uploaded);
    completed = true;
    const expectedEtag = `${md5(Buffer.concat(partMd5s)).toString("hex")}-${partMd5s.length}`;
    const head = await target.head(key);
    assertStored(head, size, expectedEtag, where);
    return { size, etag: head!.etag, parts: partMd5s.length };
  } catch (e) {
    body.destroy();
    await Promise.allSettled([...inFlight]);
    if (completed) await target.delete(key).catch(() => undefined); // ours, and wrong: no blob points at it yet
    else await target.multipart.abort(key, uploadId).catch(() => undefined);
    throw e;
  }
}
