import { Readable } from "node:stream";
import { StorageError, wrapError } from "./errors";
import { readParts } from "./streams";
import type { DriverName, PutResult, StorageDriver } from "./types";

// put() for bodies a single request cannot take (unknown size, or above the provider's single-PUT
// limit), built on the driver's own multipart contract: the body is read in parts of `partBytes`;
// at most `concurrency` parts upload while the next one fills, so memory stays at
// (concurrency + 1) * partBytes whatever the body's size. A body that fits one part is a single put.

export interface PartsUploadOptions {
  driver: DriverName;
  contentType?: string;
  /** Declared size: a body of another length fails with INVALID_ARGUMENT and nothing is stored. */
  size?: number;
  partBytes: number;
  concurrency: number;
  maxParts: number;
  /** Stores a body that fits one part with one request. */
  putSmall: (data: Buffer) => Promise<PutResult>;
}

export async function putInParts(
  multipart: StorageDriver["multipart"],
  key: string,
  body: Readable,
  options: PartsUploadOptions,
): Promise<PutResult> {
  const { driver, size, maxParts } = options;
  const partBytes = size === undefined ? options.partBytes : Math.max(options.partBytes, Math.ceil(size / maxParts));
  const fail = (message: string) =>
    new StorageError("INVALID_ARGUMENT", `${driver} storage: put ${JSON.stringify(key)}: ${message}`, { driver, operation: "put" });
  const sizeMismatch = (actual: number) => fail(`body has ${actual} bytes, declared ${size}`);

  const parts = readParts(body, partBytes);
  let first: Buffer;
  try {
    const next = await parts.next();
    first = next.done ? Buffer.alloc(0) : next.value;
  } catch (e) {
    throw wrapError(e, { driver, operation: "put", key });
  }
  if (first.length < partBytes) {
    if (size !== undefined && size !== first.length) throw sizeMismatch(first.length);
    return options.putSmall(first);
  }

  const { uploadId } = await multipart.create(key, { contentType: options.contentType });
  const uploaded: Array<{ partNumber: number; etag: string }> = [];
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;
  let total = 0;
  let partNumber = 0;

  const send = (data: Buffer) => {
    partNumber += 1;
    if (partNumber > maxParts) throw fail(`body needs more than ${maxParts} parts of ${partBytes} bytes`);
    total += data.length;
    const n = partNumber;
    const task: Promise<void> = multipart
      .uploadPart(key, uploadId, n, Readable.from([data]), data.length)
      .then(({ etag }) => {
        uploaded.push({ partNumber: n, etag });
      })
      .catch((e: unknown) => {
        failure ??= e;
      })
      .finally(() => inFlight.delete(task));
    inFlight.add(task);
  };

  try {
    send(first);
    for (;;) {
      while (inFlight.size >= options.concurrency) await Promise.race(inFlight);
      if (failure) throw failure;
      const next = await parts.next();
      if (next.done || next.value.length === 0) break;
      send(next.value);
    }
    await Promise.all(inFlight);
    if (failure) throw failure;
    if (size !== undefined && size !== total) throw sizeMismatch(total);
    return await multipart.complete(key, uploadId, uploaded);
  } catch (e) {
    body.destroy();
    await Promise.allSettled(inFlight);
    await multipart.abort(key, uploadId).catch(() => undefined);
    throw wrapError(e, { driver, operation: "put", key });
  }
}
