import { createHash, createHmac } from "node:crypto";
import { Readable } from "node:stream";

// Deterministic pseudo-random content of any size, generated on the fly and addressable by offset
// (so a 秒传 proof can be computed for any ranges without storing the file). Each 1 MiB block is a
// slice of an 8 MiB seeded random pool with its index stamped into the first 16 bytes: every block
// differs, generation is a memcpy.

const BLOCK = 1024 * 1024;
const POOL_BLOCKS = 8;

function pool(seed: string): Buffer {
  const out = Buffer.allocUnsafe(POOL_BLOCKS * BLOCK);
  for (let off = 0, i = 0; off < out.length; off += 32, i++) createHmac("sha256", seed).update(String(i)).digest().copy(out, off);
  return out;
}

export class Content {
  private readonly pool: Buffer;
  constructor(
    readonly size: number,
    readonly seed: string,
  ) {
    this.pool = pool(seed);
  }

  private block(k: number): Buffer {
    const b = Buffer.from(this.pool.subarray(((k * 5) % POOL_BLOCKS) * BLOCK, ((k * 5) % POOL_BLOCKS + 1) * BLOCK));
    b.writeBigUInt64BE(BigInt(k), 0);
    b.write(this.seed.padEnd(8, "_").slice(0, 8), 8, "latin1");
    return b;
  }

  /** Bytes [offset, offset+length) of the content. */
  slice(offset: number, length: number): Buffer {
    const end = Math.min(this.size, offset + length);
    const parts: Buffer[] = [];
    for (let pos = offset; pos < end; ) {
      const k = Math.floor(pos / BLOCK);
      const from = pos - k * BLOCK;
      const to = Math.min(BLOCK, end - k * BLOCK);
      parts.push(this.block(k).subarray(from, to));
      pos = k * BLOCK + to;
    }
    return Buffer.concat(parts);
  }

  /** A stream of bytes [offset, offset+length), at most 1 MiB per piece. */
  stream(offset = 0, length = this.size - offset): Readable {
    const self = this;
    const end = offset + length;
    let pos = offset;
    return new Readable({
      highWaterMark: BLOCK,
      read() {
        if (pos >= end) {
          this.push(null);
          return;
        }
        const n = Math.min(BLOCK - (pos % BLOCK), end - pos);
        const piece = self.slice(pos, n);
        pos += n;
        this.push(piece);
      },
    });
  }

  sha256(): string {
    const h = createHash("sha256");
    for (let pos = 0; pos < this.size; pos += BLOCK) h.update(this.slice(pos, Math.min(BLOCK, this.size - pos)));
    return h.digest("hex");
  }
}

