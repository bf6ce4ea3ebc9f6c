import { env } from "~/env";

// Sizes and limits of the upload protocol (API.md, "Upload sessions").

export const MiB = 1024 * 1024;
export const MIN_CHUNK_BYTES = 1 * MiB;
export const MAX_CHUNK_BYTES = 64 * MiB;

export function defaultChunkBytes(): number {
  return Math.min(Math.max(env.UPLOAD_DEFAULT_CHUNK_BYTES, MIN_CHUNK_BYTES), MAX_CHUNK_BYTES);
}

export function sessionTtlMs(): number {
  return env.UPLOAD_SESSION_TTL_HOURS * 3_600_000;
}

/** A 秒传 challenge must be answered within this long. */
export const CHALLENGE_TTL_MS = 10 * 60_000;

/**
 * A chunk claim whose heartbeat is older than this belongs to a writer that died or hangs. (A writer
 * whose process died is usually recognised at once by its free writer lock: claims.ts.)
 */
export const CLAIM_STALE_MS = 15_000;
export const CLAIM_HEARTBEAT_MS = 3_000;

/** Form uploads (POST /api/files) are recorded as sessions too, so a crash mid-body leaves nothing. */
export const FORM_SESSION_TTL_MS = 60 * 60_000;

/** Finished session rows are kept this long (support, idempotent complete), then deleted. */
export const FINISHED_SESSION_RETENTION_MS = 7 * 24 * 3_600_000;

/**
 * Per-user throttles (fixed windows in Redis). Mutable so tests can tighten them; production never
 * changes them at run time.
 */
export const throttles = {
  /** upload.init calls that carry a sha256: each one asks "does the server hold this content?" */
  hashProbe: { limit: 200, windowSeconds: 600 },
  /** upload.prove attempts. */
  prove: { limit: 30, windowSeconds: 600 },
};

/**
 * A chunk pushes its session's expiry out to a full TTL again only when the last push is at least
 * this old, so an active upload costs one such update a minute, not one per chunk.
 */
export const EXPIRY_REFRESH_MS = 60_000;
