import { createHash, timingSafeEqual, type Hash } from "node:crypto";
import type { WriteStream } from "node:fs";
import { Transform, type Readable, type TransformCallback } from "node:stream";
import { DomainError } from "~/server/errors";

// Upload bytes on their way to storage: counted, size-checked and hashed (Meter), and fed from a
// request body without letting a failing sink destroy the request (feed). Parsing request headers
// and multipart bodies is HTTP's (src/server/http/upload-bodies.ts). Nothing here buffers more than
// one stream chunk (≤ 64 KiB) at a time.

export interface MeterOptions {
  /** Exact byte count the body must have (a chunk); fewer or more is BAD_REQUEST. */
  exact?: number;
  /** Upper bound (a form file against the free quota); the error to raise past it. */
  max?: { bytes: number; error: () => DomainError };
  /** Expected SHA-256 of the bytes (Content-Digest); a mismatch is UNPROCESSABLE_CONTENT. */
  expectedDigest?: Buffer | null;
  /** Also feed the bytes to this hash (the session's whole-content hash). */
  alsoHash?: Hash | null;
  /** Also write the bytes here (a spool file); a failing spool is dropped, never fails the body. */
  spool?: WriteStream | null;
  /**
   * Compute the body's own SHA-256 (`digest`); default true. A chunk sent without Content-Digest
   * skips it: nothing would check it, and its bytes are hashed once anyway for the whole file.
   */
  digest?: boolean;
}

/**
 * Passes bytes through, counting and hashing them. Size and digest are checked before the stream
 * ends, so a bad body errors the stream instead of completing it: storage never commits it.
 * `failure` keeps this meter's own error (drivers wrap the errors of the bodies they read).
 */
export class Meter extends Transform {
  bytes = 0;
  digest: Buffer | null = null;
  failure: DomainError | null = null;
  spoolFailed = false;
  private readonly hash: Hash | null;

  /** Sets (or tightens) the upper bound once it is known; fails at once if already past it. */
  limit(bytes: number, error: () => DomainError): void {
    this.options.max = { bytes, error };
    if (this.bytes > bytes) {
      this.failure = error();
      this.destroy(this.failure);
    }
  }

  constructor(private readonly options: MeterOptions) {
    super({ highWaterMark: 64 * 1024 });
    this.hash = options.digest === false && !options.expectedDigest ? null : createHash("sha256");
    options.spool?.on("error", () => {
      this.spoolFailed = true;
      this.emit("spool-drain");
    });
  }

  private fail(error: DomainError, done: TransformCallback): void {
    this.failure = error;
    done(error);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    const { exact, max, spool } = this.options;
    if (exact !== undefined && this.bytes > exact) {
      return this.fail(new DomainError("BAD_REQUEST", `Body is longer than the ${exact} bytes expected`), done);
    }
    if (max && this.bytes > max.bytes) return this.fail(max.error(), done);
    this.hash?.update(chunk);
    this.options.alsoHash?.update(chunk);
    if (spool && !this.spoolFailed && !spool.write(chunk)) {
      const resume = () => {
        spool.off("drain", resume);
        this.off("spool-drain", resume);
        done(null, chunk);
      };
      spool.on("drain", resume);
      this.on("spool-drain", resume);
      return;
    }
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    const { exact, expectedDigest, spool } = this.options;
    if (exact !== undefined && this.bytes !== exact) {
      return this.fail(new DomainError("BAD_REQUEST", `Body has ${this.bytes} bytes, expected ${exact}`), done);
    }
    this.digest = this.hash?.digest() ?? null;
    if (expectedDigest && (!this.digest || !timingSafeEqual(expectedDigest, this.digest))) {
      return this.fail(new DomainError("UNPROCESSABLE_CONTENT", "Content-Digest does not match the body"), done);
    }
    if (spool && !this.spoolFailed) {
      spool.end(() => done());
      return;
    }
    done();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (this.options.spool && !this.options.spool.closed) this.options.spool.destroy();
    callback(error);
  }
}

const CLIENT_GONE = () => new DomainError("BAD_REQUEST", "The client closed the connection before the body was complete");

/**
 * Feeds the request body into `sink` without ever letting a sink error destroy the request: on an
 * error the request is only unpiped and paused, so the route can still answer (with Connection:
 * close). A request that errors or a client that goes away destroys the sink.
 */
export function feed(body: Readable, sink: NodeJS.WritableStream & { destroy(error?: Error): unknown }, signal: AbortSignal): () => void {
  const onGone = (e?: unknown) => sink.destroy(e instanceof DomainError ? e : CLIENT_GONE());
  // A signal aborted with a DomainError (the writer's claim was lost) says so; else the client went.
  const onAbort = () => onGone(signal.aborted ? signal.reason : undefined);
  const onClose = () => {
    if (!body.readableEnded) onGone();
  };
  body.once("error", onGone);
  body.once("aborted", onAbort);
  body.once("close", onClose);
  signal.addEventListener("abort", onAbort, { once: true });
  if (signal.aborted || (body.destroyed && !body.readableEnded)) onAbort();
  body.pipe(sink);
  return () => {
    body.off("error", onGone);
    body.off("aborted", onAbort);
    body.off("close", onClose);
    signal.removeEventListener("abort", onAbort);
    body.unpipe(sink as NodeJS.WritableStream);
    body.pause();
  };
}
