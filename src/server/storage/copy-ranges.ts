import type { StorageError } from "./errors";
import type { PutResult, StorageDriver } from "./types";

// copy() of an object too big for one CopyObject, built on the driver's own multipart contract: the
// source's byte ranges are copied server-side (UploadPartCopy) as parts of a new upload of the target.
// Only the part copy itself is provider-specific.

export interface CopyRangesOptions {
  targetKey: string;
  /** The source's size, from the head() the caller just made. */
  size: number;
  contentType?: string;
  /** The smallest part; raised when the object would need more than `maxParts`. */
  partBytes: number;
  maxParts: number;
  /** Copies bytes start..end (inclusive) of the source as part `partNumber` of `uploadId`; resolves to its etag. */
  copyPart: (uploadId: string, partNumber: number, start: number, end: number) => Promise<string>;
  /** The error the copy fails with (a StorageError passes through). */
  wrapError: (e: unknown) => StorageError;
}

export async function copyRangesAsParts(multipart: StorageDriver["multipart"], options: CopyRangesOptions): Promise<PutResult> {
  const { targetKey, size, contentType, maxParts } = options;
  const bytesPerPart = Math.max(options.partBytes, Math.ceil(size / maxParts));
  const { uploadId } = await multipart.create(targetKey, { contentType });
  try {
    const parts: Array<{ partNumber: number; etag: string }> = [];
    for (let start = 0, n = 1; start < size; start += bytesPerPart, n++) {
      const end = Math.min(start + bytesPerPart, size) - 1;
      parts.push({ partNumber: n, etag: await options.copyPart(uploadId, n, start, end) });
    }
    return await multipart.complete(targetKey, uploadId, parts);
  } catch (e) {
    await multipart.abort(targetKey, uploadId).catch(() => undefined);
    throw options.wrapError(e);
  }
}
