import type { UploadSession } from "~/server/db/generated/client";
import { DomainError } from "~/server/errors";
import type { DriverCapabilities } from "~/server/storage/types";
import { defaultChunkBytes, MAX_CHUNK_BYTES, MiB, MIN_CHUNK_BYTES } from "./limits";

/**
 * The chunk size for a file on a backend: the client's wish (default 8 MiB), raised to the
 * backend's smallest part (S3: 5 MiB) and so that the parts fit its part count limit. Never above
 * 64 MiB: a file that would need bigger chunks is refused.
 */
export function planChunks(size: number, requested: number | undefined, caps: DriverCapabilities): { chunkSize: number; chunkCount: number } {
  let chunkSize = Math.max(requested ?? defaultChunkBytes(), caps.minPartBytes, MIN_CHUNK_BYTES);
  if (size > 0 && Math.ceil(size / chunkSize) > caps.maxParts) {
    chunkSize = Math.ceil(size / caps.maxParts / MiB) * MiB;
  }
  if (chunkSize > MAX_CHUNK_BYTES || chunkSize > caps.maxPartBytes) {
    throw new DomainError("BAD_REQUEST", `A file of ${size} bytes is too large for a chunked upload to this drive`);
  }
  return { chunkSize, chunkCount: size === 0 ? 0 : Math.ceil(size / chunkSize) };
}

/** Bytes of chunk `index` (the last one may be short). */
export function chunkLength(session: Pick<UploadSession, "size" | "chunkSize" | "chunkCount">, index: number): number {
  const size = Number(session.size);
  return index < session.chunkCount - 1 ? session.chunkSize : size - index * session.chunkSize;
}

