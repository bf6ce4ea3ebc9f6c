import { Transform } from "node:stream";

// Gathers the small chunks a storage stream delivers (64 KiB from a file stream, 16-64 KiB from
// an S3 socket) into ~1 MiB writes to the client socket. Measured on loopback (bench/drive-
// download.ts): a 64 KiB-chunk stream piped straight into a response runs at about half the speed of
// the same bytes written in 1 MiB pieces, since every chunk costs a socket write and an event-loop
// turn. Chunks already that big pass through without a copy. Backpressure is kept: the transform
// holds at most BATCH_BYTES plus one chunk.

export const BATCH_BYTES = 1024 * 1024;

export function batchWrites(target = BATCH_BYTES): Transform {
  let parts: Buffer[] = [];
  let size = 0;
  const take = (): Buffer => {
    const out = parts.length === 1 ? parts[0]! : Buffer.concat(parts, size);
    parts = [];
    size = 0;
    return out;
  };
  return new Transform({
    writableHighWaterMark: target,
    readableHighWaterMark: target,
    transform(chunk: Buffer, _encoding, callback) {
      parts.push(chunk);
      size += chunk.length;
      if (size >= target) callback(null, take());
      else callback();
    },
    flush(callback) {
      if (size > 0) callback(null, take());
      else callback();
    },
  });
}
