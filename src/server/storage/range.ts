import { StorageError } from "./errors";
import type { ByteRange, DriverName } from "./types";

// Range semantics of the contract (see ByteRange in ./types.ts), shared by every driver.

function isOffset(n: unknown): n is number {
  return typeof n === "number" && Number.isSafeInteger(n) && n >= 0;
}

/** Throws INVALID_ARGUMENT for a malformed range (before any I/O). */
export function assertValidRange(range: ByteRange, ctx: { driver: DriverName; key: string }): void {
  let problem: string | null = null;
  if ("suffixLength" in range) {
    if (!isOffset(range.suffixLength) || range.suffixLength < 1) problem = "suffixLength must be an integer >= 1";
  } else if (!isOffset(range.start)) {
    problem = "start must be an integer >= 0";
  } else if (range.end !== undefined && (!isOffset(range.end) || range.end < range.start)) {
    problem = "end must be an integer >= start";
  }
  if (problem) {
    throw new StorageError("INVALID_ARGUMENT", `Invalid byte range ${JSON.stringify(range)} for ${JSON.stringify(ctx.key)}: ${problem}`, {
      driver: ctx.driver,
      operation: "get",
    });
  }
}

/** The HTTP Range header value for a (valid) range. */
export function rangeHeader(range: ByteRange): string {
  if ("suffixLength" in range) return `bytes=-${range.suffixLength}`;
  return `bytes=${range.start}-${range.end ?? ""}`;
}

/** The inclusive offsets a (valid) range selects in an object of `size` bytes; null when it selects none. */
export function resolveRange(range: ByteRange, size: number): { start: number; end: number } | null {
  if (size === 0) return null;
  if ("suffixLength" in range) return { start: Math.max(0, size - range.suffixLength), end: size - 1 };
  if (range.start >= size) return null;
  return { start: range.start, end: Math.min(range.end ?? size - 1, size - 1) };
}

export function rangeNotSatisfiable(ctx: { driver: DriverName; key: string }, range: ByteRange, cause?: unknown): StorageError {
  return new StorageError(
    "RANGE_NOT_SATISFIABLE",
    `${ctx.driver} storage: byte range ${rangeHeader(range)} selects nothing of ${JSON.stringify(ctx.key)}`,
    { driver: ctx.driver, operation: "get", cause },
  );
}
