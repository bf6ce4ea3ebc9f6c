// Messages between the page and the hashing worker (hash.worker.ts). One worker hashes one job at a
// time; jobs are numbered by the page so replies and cancellations find their job.

export type HashRequest =
  /** The SHA-256 of a whole Blob (a picked File), read a slice at a time. */
  | { type: "file"; id: number; blob: Blob }
  /** The SHA-256 of the given byte ranges of a Blob concatenated in order (a 秒传 proof). */
  | { type: "ranges"; id: number; blob: Blob; ranges: ReadonlyArray<{ offset: number; length: number }> }
  | { type: "cancel"; id: number };

export type HashReply =
  | { type: "progress"; id: number; hashed: number }
  | { type: "done"; id: number; sha256: string }
  | { type: "error"; id: number; message: string; cancelled?: boolean };

/** Bytes per slice when reading ranges (a 秒传 proof reads 8-16 ranges of 4-64 KiB, so one slice each). */
export const HASH_SLICE_BYTES = 8 * 1024 * 1024;
/** Progress is reported at most this often (ms), so a fast hash does not flood the page. */
export const PROGRESS_EVERY_MS = 100;
