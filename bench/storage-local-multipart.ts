import { mkdtemp, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Readable } from "node:stream";
import { createDriver } from "~/server/storage";
import { deterministicStream, hashStream } from "../tests/helpers/storage-data";

// How long multipart.complete() takes on the local driver for a 1 GiB object, with and without the
// partSize promise (in-place parts, complete = truncate + rename) — the number asked for in issue #3.
//   npx tsx bench/storage-local-multipart.ts [GiB] [dir]
// The directory defaults to the OS temp dir; point it at the disk STORAGE_LOCAL_DIR lives on.

const GiB = 1024 ** 3;
const PART = 8 * 1024 * 1024;
const size = Number(process.argv[2] ?? 1) * GiB;
const baseDir = process.argv[3] ?? os.tmpdir();

async function run(label: string, partSize: number | undefined): Promise<void> {
  const root = await mkdtemp(path.join(baseDir, "fs-bench-multipart-"));
  try {
    const driver = createDriver("local", { root });
    const key = "bench/object.bin";
    const source = deterministicStream(label, size, 1024 * 1024);
    const { uploadId } = await driver.multipart.create(key, partSize ? { partSize } : {});
    const parts: Array<{ partNumber: number; etag: string }> = [];
    const uploadStarted = performance.now();
    // Cut the one deterministic stream into PART-sized bodies.
    let partNumber = 0;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const flush = async () => {
      partNumber += 1;
      const data = Buffer.concat(pending, pendingBytes);
      pending = [];
      pendingBytes = 0;
      const { Readable } = await import("node:stream");
      const { etag } = await driver.multipart.uploadPart(key, uploadId, partNumber, Readable.from([data]), data.length);
      parts.push({ partNumber, etag });
    };
    for await (const chunk of source as Readable) {
      pending.push(chunk as Buffer);
      pendingBytes += (chunk as Buffer).length;
      if (pendingBytes >= PART) await flush();
    }
    if (pendingBytes > 0) await flush();
    const uploadMs = performance.now() - uploadStarted;
    const completeStarted = performance.now();
    const result = await driver.multipart.complete(key, uploadId, parts);
    const completeMs = performance.now() - completeStarted;
    const back = await hashStream((await driver.get(key)) as Readable);
    if (back.sha256 !== source.sha256() || result.size !== size) throw new Error(`${label}: read-back mismatch`);
    const onDisk = await stat(path.join(root, "objects", "bench", "object.bin"));
    console.log(
      `${label}: ${parts.length} parts of ${PART / 1024 / 1024} MiB, upload ${(uploadMs / 1000).toFixed(2)} s, ` +
        `complete ${completeMs.toFixed(1)} ms, ${(onDisk.blocks * 512) / GiB} GiB allocated, read-back sha256 ok`,
    );
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

await run("partSize (in place)", PART);
await run("no partSize (one assembly copy)", undefined);
