import v8 from "node:v8";

/**
 * How far V8 lets the old generation grow past what the last full GC left alive before it starts
 * the next one: `--heap-growing-percent`, here 100 (the limit is twice the live heap).
 *
 * Why the web process sets it: upload bytes arrive as Buffers whose memory lives outside the V8
 * heap, and V8 counts that external memory against the old generation's limit. V8's own growing
 * factor is tuned to how fast the *heap* fills; the web process's heap (~47 MiB: Prisma, tRPC, Next)
 * barely grows, so after a full GC (or an idle "memory reducer" GC) it set the limit only ~10 MiB
 * above the live heap. A few megabytes of Buffers in flight then crossed it again at once, and an
 * upload ran one full mark-compact after another (measured, `--trace-gc`: 77 of them in four 1 GiB
 * uploads, each ~20–40 ms over four marking threads), doubling the user CPU per GiB. With the limit at
 * twice the live heap: 5–6 full GCs in the same benchmark, user CPU per GiB 1.07–1.18× the bare
 * server's (bench/upload-stream.ts, README "Benchmarks"). 50% was not enough (79 full GCs).
 *
 * Set at runtime rather than as a node flag so that every way of starting the web process gets it
 * (npm start, dist/server.mjs in the image, the benchmarks' server); V8 reads the flag each time it
 * computes a limit.
 */
export const HEAP_GROWING_PERCENT = 100;

export function tuneHeapGrowth(): void {
  v8.setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
