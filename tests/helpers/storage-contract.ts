import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StorageDriver } from "~/server/storage/types";
import { deterministicBytes, deterministicStream, everyBytes, hashStream, readAll, sampleRss, sha256 } from "./storage-data";
import type { StorageBackend } from "./storage-backends";
import { defineMultipartContract, defineReadPartContract, defineWriteChecksContract } from "./storage-contract-multipart";
import { body, expectBytes, expectStorageError } from "./storage-expect";

// The one behaviour suite every storage driver must pass (tus-node-server style): call
// defineStorageContract(name, factory) once per backend. Semantics are those written in
// src/server/storage/types.ts; each test uses its own keys under the backend's prefix.

const MiB = 1024 * 1024;
export const BIG_OBJECT_BYTES = 256 * MiB;
export const RSS_GROWTH_LIMIT = 64 * MiB;

/** `readPart`: the driver offers multipart.readPart (local disk does; S3 and OSS have no such call). */
export function defineStorageContract(name: string, factory: () => Promise<StorageBackend>, options: { readPart?: boolean } = {}): void {
  describe(name, () => {
    let backend: StorageBackend | undefined;
    let setupError: unknown;
    let counter = 0;

    beforeAll(async () => {
      try {
        backend = await factory();
      } catch (e) {
        setupError = e;
      }
    }, 120_000);
    afterAll(async () => {
      await backend?.cleanup();
    }, 120_000);

    /** The driver, or the reason there is none (a missing Ceph fails every test, loudly). */
    const driver = (): StorageDriver => {
      if (!backend) throw setupError instanceof Error ? setupError : new Error(`backend setup failed: ${String(setupError)}`);
      return backend.driver;
    };
    const key = (suffix: string) => `${backend?.keyPrefix ?? ""}${++counter}/${suffix}`;
    const partBytes = () => Math.max(backend?.minPartBytes ?? 1, driver().capabilities.minPartBytes, 64 * 1024);

    it("check() passes against a usable backend", async () => {
      await driver().check();
    });

    it("put streams a body and returns its size and etag; head and get agree", async () => {
      const d = driver();
      const k = key("object.bin");
      const data = deterministicBytes(k, 100_000);
      const put = await d.put(k, body(data), { size: data.length, contentType: "application/x-test" });
      expect(put.size).toBe(data.length);
      expect(put.etag).not.toBe("");
      const head = await d.head(k);
      expect(head).not.toBeNull();
      expect(head?.size).toBe(data.length);
      expect(head?.etag).toBe(put.etag);
      expect(head?.lastModified.getTime()).toBeGreaterThan(Date.now() - 10 * 60_000);
      if (head?.contentType !== undefined) expect(head.contentType).toBe("application/x-test");
      const got = await d.get(k);
      expect(got).not.toBeNull();
      expect(sha256(await readAll(got as Readable))).toBe(sha256(data));
    });

    it("put without a size streams too, and an empty body is an empty object", async () => {
      const d = driver();
      const k = key("unsized.bin");
      const stream = deterministicStream(k, 3 * MiB + 17, 64 * 1024);
      const put = await d.put(k, stream);
      expect(put.size).toBe(3 * MiB + 17);
      expect(await hashStream((await d.get(k)) as Readable)).toEqual({ size: 3 * MiB + 17, sha256: stream.sha256() });

      const empty = key("empty");
      expect((await d.put(empty, Readable.from([]), { size: 0 })).size).toBe(0);
      expect((await d.head(empty))?.size).toBe(0);
      expect((await readAll((await d.get(empty)) as Readable)).length).toBe(0);
      expect((await d.put(key("empty-unsized"), Readable.from([]))).size).toBe(0);
    });

    it("put without a size above one part goes multipart and reads back intact", async () => {
      const d = driver();
      const k = key("unsized-multipart.bin");
      const size = 12 * MiB + 3;
      const stream = deterministicStream(k, size);
      const put = await d.put(k, stream);
      expect(put.size).toBe(size);
      const head = await d.head(k);
      expect(head?.size).toBe(size);
      expect(head?.etag).toBe(put.etag);
      expect(await hashStream((await d.get(k)) as Readable)).toEqual({ size, sha256: stream.sha256() });
    });

    it("a body shorter or longer than its declared size fails and stores nothing", async () => {
      const d = driver();
      const short = key("short");
      await expectStorageError(d.put(short, body("12345"), { size: 10 }), "INVALID_ARGUMENT");
      expect(await d.head(short)).toBeNull();
      const long = key("long");
      await expectStorageError(d.put(long, body("1234567890"), { size: 4 }), "INVALID_ARGUMENT");
      expect(await d.head(long)).toBeNull();
    });

    it("put replaces an object, and the etag changes with the content", async () => {
      const d = driver();
      const k = key("replaced");
      const first = await d.put(k, body("first version"), { size: 13 });
      const second = await d.put(k, body("the second version"), { size: 18 });
      expect(second.etag).not.toBe(first.etag);
      expect((await readAll((await d.get(k)) as Readable)).toString()).toBe("the second version");
      expect((await d.head(k))?.etag).toBe(second.etag);
    });

    it("a missing object is null for get, head, ranged get and copy; delete is idempotent", async () => {
      const d = driver();
      const k = key("never-written");
      expect(await d.get(k)).toBeNull();
      expect(await d.get(k, { start: 0, end: 9 })).toBeNull();
      expect(await d.get(k, { suffixLength: 4 })).toBeNull();
      expect(await d.head(k)).toBeNull();
      expect(await d.copy(k, key("copy-of-nothing"))).toBeNull();
      await d.delete(k);
      const written = key("deleted-twice");
      await d.put(written, body("x"), { size: 1 });
      await d.delete(written);
      await d.delete(written);
      expect(await d.head(written)).toBeNull();
      expect(await d.get(written)).toBeNull();
    });

    it("list yields exactly the objects under a prefix, with sizes", async () => {
      const d = driver();
      const base = key("list/");
      const names = ["a.txt", "b/c.txt", "b/d/e.txt", "bb.txt", "z"];
      for (const [i, n] of names.entries()) await d.put(base + n, body("x".repeat(i + 1)), { size: i + 1 });
      const all = [];
      for await (const item of d.list(base)) all.push(item);
      expect(all.sort((a, b) => (a.key < b.key ? -1 : 1))).toEqual(names.map((n, i) => ({ key: base + n, size: i + 1 })));
      const bs = [];
      for await (const item of d.list(`${base}b`)) bs.push(item.key);
      expect(bs.sort()).toEqual([`${base}b/c.txt`, `${base}b/d/e.txt`, `${base}bb.txt`]);
      const none = [];
      for await (const item of d.list(`${base}nothing-here/`)) none.push(item);
      expect(none).toEqual([]);
    });

    it("copy duplicates an object server-side and leaves the source intact", async () => {
      const d = driver();
      const src = key("copy-src.bin");
      const dst = key("copy/dst.bin");
      const data = deterministicBytes(src, 300_000);
      await d.put(src, body(data), { size: data.length });
      const copied = await d.copy(src, dst);
      expect(copied?.size).toBe(data.length);
      expect((await d.head(dst))?.etag).toBe(copied?.etag);
      expect(sha256(await readAll((await d.get(dst)) as Readable))).toBe(sha256(data));
      expect(sha256(await readAll((await d.get(src)) as Readable))).toBe(sha256(data));
    });

    it("copy of an object above the single-copy limit (multipart copy) is intact", async () => {
      const d = driver();
      const src = key("big-copy-src.bin");
      const size = 11 * MiB + 5;
      const stream = deterministicStream(src, size);
      await d.put(src, stream, { size });
      const dst = key("big-copy-dst.bin");
      const copied = await d.copy(src, dst);
      expect(copied?.size).toBe(size);
      expect((await d.head(dst))?.etag).toBe(copied?.etag);
      expect(await hashStream((await d.get(dst)) as Readable)).toEqual({ size, sha256: stream.sha256() });
    });

    it("byte ranges: closed, open (start-), suffix (-n), clamped; unsatisfiable and malformed ranges fail", async () => {
      const d = driver();
      const k = key("ranges.bin");
      const data = deterministicBytes(k, 1000);
      await d.put(k, body(data), { size: 1000 });
      const read = async (range: Parameters<StorageDriver["get"]>[1]) => readAll((await d.get(k, range)) as Readable);
      expect(await read({ start: 10, end: 19 })).toEqual(data.subarray(10, 20));
      expect(await read({ start: 0, end: 0 })).toEqual(data.subarray(0, 1));
      expect(await read({ start: 990 })).toEqual(data.subarray(990));
      expect(await read({ start: 999 })).toEqual(data.subarray(999));
      expect(await read({ suffixLength: 7 })).toEqual(data.subarray(993));
      expect(await read({ start: 500, end: 5000 })).toEqual(data.subarray(500));
      expect(await read({ suffixLength: 5000 })).toEqual(data);
      await expectStorageError(d.get(k, { start: 1000 }), "RANGE_NOT_SATISFIABLE");
      await expectStorageError(d.get(k, { start: 5000, end: 6000 }), "RANGE_NOT_SATISFIABLE");
      await expectStorageError(d.get(k, { start: 20, end: 10 }), "INVALID_ARGUMENT");
      await expectStorageError(d.get(k, { start: -1 }), "INVALID_ARGUMENT");
      await expectStorageError(d.get(k, { suffixLength: 0 }), "INVALID_ARGUMENT");
      await expectStorageError(d.get(k, { start: 1.5 }), "INVALID_ARGUMENT");
      const empty = key("empty-ranges");
      await d.put(empty, Readable.from([]), { size: 0 });
      await expectStorageError(d.get(empty, { start: 0 }), "RANGE_NOT_SATISFIABLE");
      await expectStorageError(d.get(empty, { suffixLength: 1 }), "RANGE_NOT_SATISFIABLE");
    });

    defineMultipartContract({ driver, key, partBytes });
    defineWriteChecksContract({ driver, key, partBytes });
    if (options.readPart) defineReadPartContract({ driver, key, partBytes });

    it("keys with spaces, unicode and URL-special characters work everywhere", async () => {
      const d = driver();
      const k = key("dir with space/ünïcødé 文件 +&=?#%.txt");
      const put = await d.put(k, body("unicode body"), { size: 12 });
      expect((await d.head(k))?.etag).toBe(put.etag);
      expect((await readAll((await d.get(k)) as Readable)).toString()).toBe("unicode body");
      const listed = [];
      for await (const item of d.list(k.slice(0, k.lastIndexOf("/") + 1))) listed.push(item.key);
      expect(listed).toEqual([k]);
      const target = `${k}.copy ü`;
      expect((await d.copy(k, target))?.size).toBe(12);
      await d.delete(k);
      expect(await d.head(k)).toBeNull();
      expect((await d.head(target))?.size).toBe(12);
    });

    it("invalid keys and prefixes are INVALID_KEY before any I/O", async () => {
      const d = driver();
      for (const bad of ["", "/abs", "a//b", "../x", "a/../b", "a/./b", "trailing/", "nul\u0000", "tab\tkey", "back\\slash", "x".repeat(600)]) {
        await expectStorageError(d.put(bad, body("x"), { size: 1 }), "INVALID_KEY");
        await expectStorageError(d.get(bad), "INVALID_KEY");
        await expectStorageError(d.head(bad), "INVALID_KEY");
        await expectStorageError(d.delete(bad), "INVALID_KEY");
      }
      await expectStorageError((async () => {
        for await (const _ of d.list("../")) void _;
      })(), "INVALID_KEY");
    });

    it("concurrent puts to one key leave exactly one of the bodies, intact", async () => {
      const d = driver();
      const k = key("contended.bin");
      const bodies = Array.from({ length: 6 }, (_, i) => deterministicBytes(`${k}#${i}`, 512 * 1024 + i));
      const results = await Promise.all(bodies.map((b) => d.put(k, body(b), { size: b.length })));
      const stored = await readAll((await d.get(k)) as Readable);
      const winner = bodies.findIndex((b) => sha256(b) === sha256(stored));
      expect(winner).toBeGreaterThanOrEqual(0);
      expect((await d.head(k))?.etag).toBe(results[winner]?.etag);
    });

    it("presignGet: a URL fetch() can download (with the download name), tampering gives 403", async () => {
      const d = driver();
      const k = key("presigned.bin");
      const data = deterministicBytes(k, 4096);
      await d.put(k, body(data), { size: data.length });
      const url = await d.presignGet(k, { expiresInSeconds: 120, downloadName: "Bericht Ü 2024 \"final\".pdf", contentType: "application/pdf" });
      if (!d.capabilities.presign) {
        expect(url).toBeNull();
        return;
      }
      expect(url).toMatch(/^https?:\/\//);
      const ok = await fetch(url as string);
      expect(ok.status).toBe(200);
      expectBytes(Buffer.from(await ok.arrayBuffer()), data);
      expect(ok.headers.get("content-type")).toBe("application/pdf");
      const disposition = ok.headers.get("content-disposition") ?? "";
      expect(disposition).toContain("attachment");
      expect(disposition).toContain("filename*=UTF-8''Bericht%20%C3%9C%202024%20%22final%22.pdf");
      const u = new URL(url as string);
      u.pathname = u.pathname.replace(/presigned\.bin$/, "presigned.bim");
      const otherKey = await fetch(u);
      expect(otherKey.status).toBe(403);
      await otherKey.arrayBuffer();
      const v = new URL(url as string);
      const sigParam = v.searchParams.has("X-Amz-Signature") ? "X-Amz-Signature" : "Signature";
      const sig = v.searchParams.get(sigParam) as string;
      v.searchParams.set(sigParam, (sig[0] === "A" ? "B" : "A") + sig.slice(1));
      const badSig = await fetch(v);
      expect(badSig.status).toBe(403);
      await badSig.arrayBuffer();
    });

    it(`a ${BIG_OBJECT_BYTES / MiB} MiB object streams in and out with flat memory`, async () => {
      const d = driver();
      const k = key("big.bin");
      // Warm up first (lazy module loading, connection pools, allocator arenas), so the baseline is
      // steady state and the growth is what the 256 MiB transfer itself holds.
      const warm = key("warm-up.bin");
      await d.put(warm, deterministicStream(warm, 16 * MiB, 1 * MiB), { size: 16 * MiB });
      await hashStream((await d.get(warm)) as Readable);
      await d.delete(warm);
      const rss = sampleRss();
      const source = deterministicStream(k, BIG_OBJECT_BYTES, 1 * MiB);
      const started = performance.now();
      const put = await d.put(k, source.pipe(everyBytes(32 * MiB, rss.checkpoint)), { size: BIG_OBJECT_BYTES });
      const putMs = performance.now() - started;
      const readStarted = performance.now();
      const back = await hashStream(((await d.get(k)) as Readable).pipe(everyBytes(32 * MiB, rss.checkpoint)));
      const getMs = performance.now() - readStarted;
      const memory = rss.stop();
      expect(put.size).toBe(BIG_OBJECT_BYTES);
      expect(back).toEqual({ size: BIG_OBJECT_BYTES, sha256: source.sha256() });
      console.info(
        `[storage-contract] ${name}: 256 MiB put ${(putMs / 1000).toFixed(2)} s, get ${(getMs / 1000).toFixed(2)} s, ` +
          `RSS growth ${(memory.liveGrowth / MiB).toFixed(1)} MiB after GC / ${(memory.rawPeakGrowth / MiB).toFixed(1)} MiB raw peak ` +
          `(baseline ${(memory.baseline / MiB).toFixed(0)} MiB)`,
      );
      expect(memory.liveGrowth).toBeLessThan(RSS_GROWTH_LIMIT);
      // Garbage Buffers count until V8 collects them; even so, nowhere near the object's size.
      expect(memory.rawPeakGrowth).toBeLessThan(BIG_OBJECT_BYTES / 2);
      await d.delete(k);
    }, 180_000);
  });
}
