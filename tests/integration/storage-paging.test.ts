import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { cephS3Backend, ossGatewayBackend, type StorageBackend } from "../helpers/storage-backends";

// list() and listParts() across more than one page: RGW (directly and behind the OSS gateway) answers
// at most 1000 keys or parts a page, so 1003 of each needs the drivers' cursor paging. The contract
// suite's listings all fit one page.

/** Runs fn(0..n-1), `width` at a time. */
async function inParallel(n: number, width: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < n) await fn(next++);
  };
  await Promise.all(Array.from({ length: width }, worker));
}

for (const [name, factory] of [["s3", cephS3Backend], ["oss", ossGatewayBackend]] as const) {
  describe(`${name} driver paging on Ceph RGW${name === "oss" ? " (via the OSS gateway)" : ""}`, () => {
    it("list and listParts cross the 1000-item page", async () => {
      const b: StorageBackend = await factory();
      try {
        const d = b.driver;
        const N = 1003;
        const base = `${b.keyPrefix}many/`;
        await inParallel(N, 24, (i) => d.put(`${base}${String(i).padStart(5, "0")}`, Readable.from([Buffer.from("x".repeat(i % 7))]), { size: i % 7 }));
        const listed: Array<{ key: string; size: number }> = [];
        for await (const item of d.list(base)) listed.push(item);
        expect(listed.length).toBe(N);
        expect(new Set(listed.map((x) => x.key)).size).toBe(N);
        expect(listed.every((x) => x.size === Number(x.key.slice(-5)) % 7)).toBe(true);

        const k = `${b.keyPrefix}parts`;
        const { uploadId } = await d.multipart.create(k);
        await inParallel(N, 24, (i) => d.multipart.uploadPart(k, uploadId, i + 1, Readable.from([Buffer.from("ab")]), 2));
        const parts = await d.multipart.listParts(k, uploadId);
        expect(parts?.length).toBe(N);
        expect(parts?.map((p) => p.partNumber)).toEqual(Array.from({ length: N }, (_, i) => i + 1));
        await d.multipart.abort(k, uploadId);
      } finally {
        await b.cleanup();
      }
    }, 300_000);
  });
}
