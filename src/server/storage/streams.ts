import { createHash, type Hash } from "node:crypto";
import { Transform, pipeline, type Readable, type TransformCallback } from "node:stream";
import { StorageError } from "./errors";
import type { DriverName } from "./types";

// Small stream pieces the drivers share. Nothing here holds more than one part in memory.

/** Passes bytes through and counts them. */
export class ByteCounter extends Transform {
  bytes = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    done(null, chunk);
  }
}

/**
 * Passes bytes through and fails the stream when it carries more or fewer than `expected` bytes, so a
 * short or long body never becomes an object whose size differs from the one declared.
 */
export class ExactSize extends Transform {
  private seen = 0;

  constructor(
    private readonly expected: number,
    private readonly ctx: { driver: DriverName; operation: string; key: string },
  ) {
    super();
  }

  private mismatch(actual: string): StorageError {
    return new StorageError(
      "INVALID_ARGUMENT",
      `${this.ctx.driver} storage: ${this.ctx.operation} ${JSON.stringify(this.ctx.key)}: body has ${actual} bytes, declared ${this.expected}`,
      { driver: this.ctx.driver, operation: this.ctx.operation },
    );
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.expected) done(this.mismatch(`more than ${this.expected}`));
    else done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    done(this.seen === this.expected ? null : this.mismatch(String(this.seen)));
  }
}

/**
 * Passes bytes through and fails the stream at its end when their MD5 is not `contentMd5` (base64),
 * as S3 and OSS refuse a body that does not match its Content-MD5: the local driver's side of
 * WriteChecks (types.ts). The failure comes before the writer commits anything.
 */
export class Md5Check extends Transform {
  private readonly hash: Hash = createHash("md5");

  constructor(
    private readonly contentMd5: string,
    private readonly ctx: { driver: DriverName; operation: string; key: string },
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    const actual = this.hash.digest("base64");
    if (actual === this.contentMd5) return done();
    done(
      new StorageError("BAD_DIGEST", `${this.ctx.driver} storage: ${this.ctx.operation} ${JSON.stringify(this.ctx.key)}: the body's MD5 is ${actual}, Content-MD5 said ${this.contentMd5}`, {
        driver: this.ctx.driver,
        operation: this.ctx.operation,
      }),
    );
  }
}

/**
 * `body` behind an ExactSize guard, for request bodies. A short body would leave the request waiting
 * for bytes that never come, so any body failure also fires `signal` (pass it to the HTTP client to
 * abort the request; the provider then stores nothing); failure() tells the caller it was the body,
 * not the network.
 */
export function exactBody(
  body: Readable,
  size: number,
  ctx: { driver: DriverName; operation: string; key: string },
): { stream: Readable; signal: AbortSignal; failure: () => unknown } {
  let failure: unknown;
  const aborter = new AbortController();
  const stream = pipeline(body, new ExactSize(size, ctx), (e) => {
    if (!e) return;
    failure = e;
    aborter.abort(e);
  });
  return { stream, signal: aborter.signal, failure: () => failure };
}

export function assertSize(size: number, ctx: { driver: DriverName; operation: string; key: string }): void {
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new StorageError("INVALID_ARGUMENT", `${ctx.driver} storage: ${ctx.operation} ${JSON.stringify(ctx.key)}: size ${size} is not an integer >= 0`, {
      driver: ctx.driver,
      operation: ctx.operation,
    });
  }
}

export function assertPartNumber(partNumber: number, maxParts: number, ctx: { driver: DriverName; key: string }): void {
  if (!Number.isSafeInteger(partNumber) || partNumber < 1 || partNumber > maxParts) {
    throw new StorageError("INVALID_ARGUMENT", `${ctx.driver} storage: part number ${partNumber} of ${JSON.stringify(ctx.key)} is not in 1..${maxParts}`, {
      driver: ctx.driver,
      operation: "uploadPart",
    });
  }
}

/** The parts sorted by part number; duplicates or bad numbers are INVALID_ARGUMENT. */
export function sortedParts<P extends { partNumber: number }>(parts: P[], maxParts: number, ctx: { driver: DriverName; key: string }): P[] {
  const fail = (why: string) =>
    new StorageError("INVALID_ARGUMENT", `${ctx.driver} storage: complete ${JSON.stringify(ctx.key)}: ${why}`, {
      driver: ctx.driver,
      operation: "complete",
    });
  if (parts.length === 0) throw fail("no parts given");
  const sorted = [...parts].sort((a, b) => a.partNumber - b.partNumber);
  sorted.forEach((p, i) => {
    if (!Number.isSafeInteger(p.partNumber) || p.partNumber < 1 || p.partNumber > maxParts) throw fail(`part number ${p.partNumber} is not in 1..${maxParts}`);
    if (i > 0 && sorted[i - 1]?.partNumber === p.partNumber) throw fail(`part ${p.partNumber} is listed twice`);
  });
  return sorted;
}

/**
 * Reads `source` in parts of exactly `partBytes` (the last may be shorter, or empty when the source
 * is empty). At most one part is buffered here at a time; the consumer decides how many it keeps.
 */
export async function* readParts(source: Readable, partBytes: number): AsyncGenerator<Buffer> {
  let part = Buffer.allocUnsafe(partBytes);
  let filled = 0;
  let yielded = false;
  for await (const raw of source) {
    let chunk: Buffer = typeof raw === "string" ? Buffer.from(raw) : (raw as Buffer);
    while (chunk.length > 0) {
      const n = Math.min(chunk.length, partBytes - filled);
      chunk.copy(part, filled, 0, n);
      filled += n;
      chunk = chunk.subarray(n);
      if (filled === partBytes) {
        yield part;
        yielded = true;
        part = Buffer.allocUnsafe(partBytes);
        filled = 0;
      }
    }
  }
  if (filled > 0 || !yielded) yield part.subarray(0, filled);
}

/** Strips the quotes S3 and OSS put around ETags. */
export function unquote(etag: string | undefined | null): string {
  return (etag ?? "").replace(/^W\//, "").replace(/^"+|"+$/g, "");
}
