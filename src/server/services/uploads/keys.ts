import { randomBytes } from "node:crypto";
import { joinKey } from "~/server/storage/keys";

/**
 * Where an upload's bytes are written, and where they stay once verified: the blob's storageKey is
 * this key, so completing an upload never copies or renames bytes between keys (S3 multipart
 * complete, or the local driver's in-place rename, lands them here). One key per upload also means
 * two generations of a blob never share a key (see blobs.ts). Validated by storage/keys.ts.
 */
export function uploadObjectKey(uploadId: string): string {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(uploadId)) throw new Error(`bad upload id ${JSON.stringify(uploadId)}`);
  return joinKey("uploads", uploadId);
}

export function newUploadId(): string {
  return randomBytes(16).toString("base64url");
}

/** Where a tus upload keeps its incomplete part (tus/tail.ts): every tail object starts with this. */
export function tailPrefix(stagingKey: string): string {
  return `${stagingKey}.tail.`;
}
