import { randomBytes, type Hash } from "node:crypto";
import { once } from "node:events";
import { createReadStream, createWriteStream } from "node:fs";
import { unlink } from "node:fs/promises";
import path from "node:path";
import { PassThrough, type Readable } from "node:stream";
import { feed } from "../streams";
import { processSpoolDir } from "../spool-dir";

// A PATCH body read piece by piece: each piece becomes one storage part (or the upload's tail), so
// the body is pulled exactly as far as the current piece needs and no further. Bytes are hashed as
// they are handed out (the PATCH's Upload-Checksum, the upload's running SHA-256), so a hash always
// covers exactly the bytes consumed so far. Memory: one stream chunk (≤ 64 KiB) at a time.

export class BodyCursor {
  /** Bytes handed out so far. */
  consumed = 0;
  /** The body's own failure (client gone, stream error), once seen. */
  failure: unknown = null;
  private readonly iterator: AsyncIterator<Buffer>;
  private pending: Buffer | null = null;
  private done = false;
  private readonly stopFeeding: () => void;

  constructor(body: Readable, signal: AbortSignal, private readonly hashes: Hash[]) {
    const source = new PassThrough({ highWaterMark: 64 * 1024 });
    // feed() turns a client that goes away into an error of `source` (never a silent short body).
    this.stopFeeding = feed(body, source, signal);
    this.iterator = source[Symbol.asyncIterator]();
  }

  private async pull(): Promise<boolean> {
    while (!this.pending?.length) {
      if (this.done) return false;
      let r: IteratorResult<Buffer>;
      try {
        r = await this.iterator.next();
      } catch (e) {
        this.failure ??= e;
        this.done = true;
        throw e;
      }
      if (r.done) {
        this.done = true;
        return false;
      }
      this.pending = r.value;
    }
    return true;
  }

  /** Up to `max` bytes, or null at the end of the body. */
  async read(max: number): Promise<Buffer | null> {
    if (!(await this.pull())) return null;
    let out = this.pending!;
    if (out.length > max) {
      this.pending = out.subarray(max);
      out = out.subarray(0, max);
    } else {
      this.pending = null;
    }
    this.consumed += out.length;
    for (const h of this.hashes) h.update(out);
    return out;
  }

  /** The next `n` bytes (fewer when the body ends first). */
  async *take(n: number): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      const buf = await this.read(left);
      if (!buf) return;
      left -= buf.length;
      yield buf;
    }
  }

  /** Whether the body has no byte left (reads ahead by one stream chunk at most). */
  async atEnd(): Promise<boolean> {
    return !(await this.pull());
  }

  /** Stops reading the request (an early answer; the connection is then closed). */
  stop(): void {
    this.stopFeeding();
  }
}

export interface Spooled {
  size: number;
  /** The body failed (client gone) after `size` bytes; they are spooled intact. */
  interrupted: unknown;
  open(): Readable;
  remove(): Promise<void>;
}

/**
 * Spools up to `capacity` bytes of a body whose length is not known in advance (no Content-Length)
 * to a temp file, so the piece's size is known before it goes to storage; also what lets an
 * interrupted PATCH keep every byte that arrived. At most one piece per PATCH is spooled at a time.
 */
export async function spoolPiece(cursor: BodyCursor, capacity: number): Promise<Spooled> {
  const file = path.join(/*turbopackIgnore: true*/ await processSpoolDir("filestore-tus"), randomBytes(8).toString("hex"));
  const out = createWriteStream(file, { flags: "wx", highWaterMark: 1024 * 1024 });
  const remove = () => unlink(file).catch(() => {});
  let size = 0;
  let interrupted: unknown = null;
  try {
    for await (const buf of cursor.take(capacity)) {
      size += buf.length;
      // events.once rejects on "error" and removes both listeners either way.
      if (!out.write(buf)) await once(out, "drain");
    }
  } catch (e) {
    if (cursor.failure !== e) {
      out.destroy();
      await remove();
      throw e;
    }
    interrupted = e;
  }
  try {
    await new Promise<void>((resolve, reject) => {
      out.once("error", reject);
      out.end(() => resolve());
    });
  } catch (e) {
    await remove();
    throw e;
  }
  return { size, interrupted, open: () => createReadStream(file, { highWaterMark: 1024 * 1024 }), remove };
}
