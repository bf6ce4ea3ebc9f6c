import { createHash, timingSafeEqual, type Hash } from "node:crypto";
import type { WriteStream } from "node:fs";
import { Transform, type Readable, type TransformCallback } from "node:stream";
import busboy from "busboy";
import { DomainError } from "~/server/errors";

// Request bodies of upload routes: counted, size-checked and hashed while they stream to storage.
// Nothing here buffers more than one stream chunk (≤ 64 KiB) at a time.

/** The sha-256 member of a `Content-Digest` header (RFC 9530), or null when there is none. */
export function parseContentDigest(header: string | null): Buffer | null {
  if (header === null || header.trim() === "") return null;
  for (const member of header.split(",")) {
    const eq = member.indexOf("=");
    if (eq < 0) continue;
    if (member.slice(0, eq).trim().toLowerCase() !== "sha-256") continue;
    const value = member.slice(eq + 1).trim();
    const m = /^:([A-Za-z0-9+/]+={0,2}):$/.exec(value);
    const digest = m ? Buffer.from(m[1]!, "base64") : null;
    if (!digest || digest.length !== 32) {
      throw new DomainError("BAD_REQUEST", "Content-Digest sha-256 must be 32 bytes of base64 between colons");
    }
    return digest;
  }
  return null;
}

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

export function isMultipart(contentType: string | null): boolean {
  return /^multipart\/form-data\s*;/i.test(contentType ?? "");
}

/**
 * A chunk body: the raw request, or the one file field `chunk` of a multipart/form-data request.
 * `stream` is the chunk's bytes; `finished` settles when the whole request was read and well formed.
 */
export function chunkSource(
  req: { body: Readable; headers: Headers; signal: AbortSignal },
  sink: Meter,
): { finished: Promise<void>; stop: () => void } {
  const contentType = req.headers.get("content-type");
  if (!isMultipart(contentType)) {
    const stop = feed(req.body, sink, req.signal);
    const finished = new Promise<void>((resolve, reject) => {
      sink.once("finish", resolve);
      sink.once("error", reject);
      sink.once("close", () => reject(new DomainError("BAD_REQUEST", "The chunk body was not completed")));
    });
    return { finished, stop };
  }

  let bb: busboy.Busboy;
  try {
    bb = busboy({ headers: { "content-type": contentType! }, limits: { files: 1, fields: 16, fieldSize: 1024, parts: 17 } });
  } catch (e) {
    throw new DomainError("BAD_REQUEST", `Malformed multipart body: ${(e as Error).message}`);
  }
  let sawChunk = false;
  const finished = new Promise<void>((resolve, reject) => {
    const fail = (e: unknown) => {
      const error = e instanceof DomainError ? e : new DomainError("BAD_REQUEST", `Malformed multipart body: ${(e as Error).message}`);
      sink.destroy(error);
      reject(error);
    };
    bb.on("file", (name, file) => {
      if (name !== "chunk" || sawChunk) {
        file.resume();
        fail(new DomainError("BAD_REQUEST", 'A multipart chunk body has exactly one file field, "chunk"'));
        return;
      }
      sawChunk = true;
      file.on("error", fail);
      file.pipe(sink);
    });
    bb.on("filesLimit", () => fail(new DomainError("BAD_REQUEST", 'A multipart chunk body has exactly one file field, "chunk"')));
    bb.on("error", fail);
    bb.on("close", () => {
      if (!sawChunk) return fail(new DomainError("BAD_REQUEST", 'No file field "chunk" in the multipart body'));
      if (sink.writableFinished) return resolve();
      sink.once("finish", resolve);
      sink.once("error", reject);
    });
    sink.once("error", reject);
    sink.once("close", () => {
      if (!sink.writableFinished) reject(new DomainError("BAD_REQUEST", "The chunk body was not completed"));
    });
  });
  const stop = feed(req.body, bb, req.signal);
  return { finished, stop };
}
