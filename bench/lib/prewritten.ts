import { createHash, randomBytes, type Hash } from "node:crypto";
import { createReadStream, createWriteStream, rmSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { Content } from "./data";

// Upload content the client only reads: written to a file once, before any timing, and read back
// once so it sits in the page cache; uploads then stream it with fs read streams (no generation,
// no copies in the client). Every upload still sends distinct content (no dedupe, no 秒传): its
// last 32 bytes are a fresh nonce, and its SHA-256 is the file's running hash of everything before
// them (computed once) plus the nonce.

const NONCE = 32;
const READ_CHUNK = 1024 * 1024;

export interface Variant {
  sha256: string;
  /** Bytes [offset, offset+length) of this variant, streamed from the file. */
  stream(offset?: number, length?: number): Readable;
}

export class PrewrittenFile {
  private constructor(
    readonly path: string,
    readonly size: number,
    private readonly dir: string,
    private readonly prefixHash: Hash,
  ) {}

  static async create(size: number, seed: string): Promise<PrewrittenFile> {
    if (size <= NONCE) throw new Error(`a prewritten file needs more than ${NONCE} bytes`);
    const dir = await mkdtemp(path.join(process.env.BENCH_DIR ?? os.tmpdir(), "fs-bench-client-"));
    // Removed at exit too, should the benchmark fail before remove().
    process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, `${seed}.bin`);
    await pipeline(new Content(size, seed).stream(), createWriteStream(file));
    // The read back puts it in the page cache and hashes everything but the nonce's place.
    const prefixHash = createHash("sha256");
    for await (const b of createReadStream(file, { end: size - NONCE - 1, highWaterMark: READ_CHUNK })) prefixHash.update(b as Buffer);
    return new PrewrittenFile(file, size, dir, prefixHash);
  }

  variant(): Variant {
    const nonce = randomBytes(NONCE);
    const nonceAt = this.size - NONCE;
    const sha256 = this.prefixHash.copy().update(nonce).digest("hex");
    return {
      sha256,
      stream: (offset = 0, length = this.size - offset) => {
        const end = offset + length;
        const fromFile = Math.min(end, nonceAt) - offset;
        const file = fromFile > 0 ? createReadStream(this.path, { start: offset, end: offset + fromFile - 1, highWaterMark: READ_CHUNK }) : null;
        if (end <= nonceAt) return file!;
        const tail = nonce.subarray(Math.max(0, offset - nonceAt), end - nonceAt);
        return Readable.from(
          (async function* () {
            if (file) yield* file;
            yield tail;
          })(),
          { objectMode: false },
        );
      },
    };
  }

  async remove(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}
