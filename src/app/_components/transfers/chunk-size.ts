// Adaptive chunk size. A chunk is one request; it should take a few seconds: long enough that
// per-request costs vanish, short enough that progress moves, a lost connection costs little and a
// pause or a retry is quick. The server fixes a session's chunk size at upload.init (1-64 MiB, API.md),
// so the page measures what each chunk request achieves and sizes the NEXT file's chunks from it.

const MiB = 1024 * 1024;
export const MIN_CHUNK_BYTES = 1 * MiB;
export const MAX_CHUNK_BYTES = 64 * MiB;
/** What one chunk request should take. */
export const TARGET_CHUNK_SECONDS = 4;

/** Before anything was measured: small chunks for small files, bigger ones for big files. */
export function initialChunkSize(size: number): number {
  if (size <= 32 * MiB) return MiB;
  if (size <= 256 * MiB) return 4 * MiB;
  return 8 * MiB;
}

const powerOfTwoMiB = (bytes: number) => MiB * 2 ** Math.round(Math.log2(Math.max(1, bytes / MiB)));

export class ChunkSizer {
  /** Bytes per second one chunk request achieves (moving average), or null before any was measured. */
  private perRequest: number | null = null;

  /** A chunk of `bytes` took `ms` (parallel requests each count on their own). Tiny chunks say little. */
  record(bytes: number, ms: number): void {
    if (bytes < 256 * 1024 || ms <= 0) return;
    const rate = (bytes / ms) * 1000;
    this.perRequest = this.perRequest === null ? rate : this.perRequest * 0.7 + rate * 0.3;
  }

  get bytesPerSecond(): number | null {
    return this.perRequest;
  }

  /**
   * The chunk size to ask for a file of `size` bytes: about TARGET_CHUNK_SECONDS of transfer per
   * chunk, a power of two MiB within the server's limits, and small enough that the file still
   * spreads over `parallel` requests.
   */
  chunkSizeFor(size: number, parallel: number): number {
    if (this.perRequest === null) return initialChunkSize(size);
    let chunk = powerOfTwoMiB(this.perRequest * TARGET_CHUNK_SECONDS);
    while (chunk > MIN_CHUNK_BYTES && Math.ceil(size / chunk) < parallel) chunk /= 2;
    return Math.min(MAX_CHUNK_BYTES, Math.max(MIN_CHUNK_BYTES, chunk));
  }
}
