import { createHash } from "node:crypto";
import type { Readable } from "node:stream";
import { expect, it } from "vitest";
import type { StorageDriver } from "~/server/storage/types";
import { body, expectBytes, expectStorageError } from "./storage-expect";
import { deterministicBytes, readAll, sha256 } from "./storage-data";

// The multipart part of the storage contract (see ./storage-contract.ts), defined inside its describe.

export interface ContractContext {
  driver: () => StorageDriver;
  key: (suffix: string) => string;
  /** A part size every backend under test accepts for non-last parts. */
  partBytes: () => number;
}

export function defineMultipartContract({ driver, key, partBytes }: ContractContext): void {
  it("multipart: parts uploaded out of order, listed, completed in any order; ranges across part boundaries", async () => {
    const d = driver();
    const k = key("multipart.bin");
    const p = partBytes();
    const sizes = [p, p, Math.floor(p / 3) + 1];
    const parts = sizes.map((s, i) => deterministicBytes(`${k}#${i + 1}`, s));
    const whole = Buffer.concat(parts);
    const { uploadId } = await d.multipart.create(k, { contentType: "application/x-parts" });
    const etags = new Map<number, string>();
    for (const n of [3, 1, 2]) {
      const data = parts[n - 1] as Buffer;
      etags.set(n, (await d.multipart.uploadPart(k, uploadId, n, body(data), data.length)).etag);
    }
    expect(await d.head(k)).toBeNull(); // nothing visible before complete
    expect(await d.multipart.listParts(k, uploadId)).toEqual(
      [1, 2, 3].map((n) => ({ partNumber: n, etag: etags.get(n), size: sizes[n - 1] })),
    );
    const done = await d.multipart.complete(k, uploadId, [2, 3, 1].map((n) => ({ partNumber: n, etag: etags.get(n) as string })));
    expect(done.size).toBe(whole.length);
    const head = await d.head(k);
    expect(head?.size).toBe(whole.length);
    expect(head?.etag).toBe(done.etag);
    expect(sha256(await readAll((await d.get(k)) as Readable))).toBe(sha256(whole));
    const across = await readAll((await d.get(k, { start: p - 10, end: 2 * p + 9 })) as Readable);
    expectBytes(across, whole.subarray(p - 10, 2 * p + 10));
    expectBytes(await readAll((await d.get(k, { suffixLength: (sizes[2] as number) + 5 })) as Readable), whole.subarray(2 * p - 5));
    expect(await d.multipart.listParts(k, uploadId)).toBeNull(); // the upload is over
  });

  it("multipart with a fixed partSize: in-place parts, a short last part, a re-uploaded part", async () => {
    const d = driver();
    const k = key("fixed-parts.bin");
    const p = partBytes();
    const { uploadId } = await d.multipart.create(k, { partSize: p });
    const parts = [deterministicBytes(`${k}#1`, p), deterministicBytes(`${k}#2`, p), deterministicBytes(`${k}#3`, 1234)];
    const stale = deterministicBytes(`${k}#2-stale`, p);
    await d.multipart.uploadPart(k, uploadId, 2, body(stale), stale.length);
    const etags: string[] = [];
    for (const n of [3, 2, 1]) {
      const data = parts[n - 1] as Buffer;
      etags[n - 1] = (await d.multipart.uploadPart(k, uploadId, n, body(data), data.length)).etag;
    }
    const listed = await d.multipart.listParts(k, uploadId);
    expect(listed?.map((x) => [x.partNumber, x.size, x.etag])).toEqual([
      [1, p, etags[0]],
      [2, p, etags[1]],
      [3, 1234, etags[2]],
    ]);
    const done = await d.multipart.complete(k, uploadId, etags.map((etag, i) => ({ partNumber: i + 1, etag })));
    expect(done.size).toBe(2 * p + 1234);
    expect(sha256(await readAll((await d.get(k)) as Readable))).toBe(sha256(Buffer.concat(parts)));
  });

  it("multipart with gaps in the part numbers assembles the parts in number order", async () => {
    const d = driver();
    const k = key("gaps.bin");
    const p = partBytes();
    const { uploadId } = await d.multipart.create(k, { partSize: p });
    const one = deterministicBytes(`${k}#1`, p);
    const three = deterministicBytes(`${k}#3`, p);
    const five = deterministicBytes(`${k}#5`, 10);
    const e5 = await d.multipart.uploadPart(k, uploadId, 5, body(five), 10);
    const e3 = await d.multipart.uploadPart(k, uploadId, 3, body(three), p);
    const e1 = await d.multipart.uploadPart(k, uploadId, 1, body(one), p);
    const done = await d.multipart.complete(k, uploadId, [
      { partNumber: 3, etag: e3.etag },
      { partNumber: 5, etag: e5.etag },
      { partNumber: 1, etag: e1.etag },
    ]);
    expect(done.size).toBe(2 * p + 10);
    expect(sha256(await readAll((await d.get(k)) as Readable))).toBe(sha256(Buffer.concat([one, three, five])));
    expectBytes(await readAll((await d.get(k, { start: p - 3, end: p + 2 })) as Readable), Buffer.concat([one.subarray(p - 3), three.subarray(0, 3)]));
  });

  it("multipart: a wrong etag is INVALID_PART; abort ends the upload; abort is idempotent", async () => {
    const d = driver();
    const k = key("aborted.bin");
    const { uploadId } = await d.multipart.create(k);
    const data = deterministicBytes(k, 1000);
    const part = await d.multipart.uploadPart(k, uploadId, 1, body(data), data.length);
    await expectStorageError(d.multipart.complete(k, uploadId, [{ partNumber: 1, etag: `${part.etag}0` }]), "INVALID_PART");
    await expectStorageError(d.multipart.complete(k, uploadId, [{ partNumber: 2, etag: part.etag }]), "INVALID_PART");
    expect((await d.multipart.listParts(k, uploadId))?.length).toBe(1);
    await d.multipart.abort(k, uploadId);
    expect(await d.multipart.listParts(k, uploadId)).toBeNull();
    await d.multipart.abort(k, uploadId);
    await expectStorageError(d.multipart.uploadPart(k, uploadId, 2, body(data), data.length), "NOT_FOUND");
    await expectStorageError(d.multipart.complete(k, uploadId, [{ partNumber: 1, etag: part.etag }]), "NOT_FOUND");
    expect(await d.head(k)).toBeNull();
    expect(await d.multipart.listParts(k, "0123456789abcdef0123456789abcdef")).toBeNull();
    await d.multipart.abort(k, "0123456789abcdef0123456789abcdef");
  });

  it("multipart rejects bad part numbers and a part body of the wrong size", async () => {
    const d = driver();
    const k = key("bad-parts.bin");
    const { uploadId } = await d.multipart.create(k);
    await expectStorageError(d.multipart.uploadPart(k, uploadId, 0, body("x"), 1), "INVALID_ARGUMENT");
    await expectStorageError(d.multipart.uploadPart(k, uploadId, d.capabilities.maxParts + 1, body("x"), 1), "INVALID_ARGUMENT");
    await expectStorageError(d.multipart.uploadPart(k, uploadId, 1, body("abc"), 5), "INVALID_ARGUMENT");
    await expectStorageError(d.multipart.complete(k, uploadId, []), "INVALID_ARGUMENT");
    await d.multipart.abort(k, uploadId);
  });
}

/**
 * Write checks (types.ts, WriteChecks): the backend computes the MD5 of what it received and refuses
 * a body that does not match its Content-MD5, storing nothing. The async transfer relies on it.
 */
export function defineWriteChecksContract({ driver, key, partBytes }: ContractContext): void {
  const md5 = (data: Buffer | string) => createHash("md5").update(data).digest("base64");

  it("put with contentMd5: the right digest stores the object, a wrong one is BAD_DIGEST and stores nothing", async () => {
    const d = driver();
    const k = key("md5-put.bin");
    const data = deterministicBytes(k, 70_000);
    const put = await d.put(k, body(data), { size: data.length, contentMd5: md5(data) });
    expect(put.size).toBe(data.length);
    expectBytes(await readAll((await d.get(k)) as Readable), data);
    const wrong = key("md5-put-wrong.bin");
    await expectStorageError(d.put(wrong, body(data), { size: data.length, contentMd5: md5("something else") }), "BAD_DIGEST");
    expect(await d.head(wrong)).toBeNull();
    // An existing object is not replaced by a refused write.
    await expectStorageError(d.put(k, body("other bytes"), { size: 11, contentMd5: md5("not these") }), "BAD_DIGEST");
    expectBytes(await readAll((await d.get(k)) as Readable), data);
    const empty = key("md5-empty");
    await d.put(empty, body(Buffer.alloc(0)), { size: 0, contentMd5: md5("") });
    expect((await d.head(empty))?.size).toBe(0);
  });

  it("uploadPart with contentMd5: a part that does not match is BAD_DIGEST and not stored; matching parts complete", async () => {
    const d = driver();
    const k = key("md5-parts.bin");
    const { uploadId } = await d.multipart.create(k);
    const first = deterministicBytes(`${k}#1`, partBytes());
    const last = deterministicBytes(`${k}#2`, 4321);
    await expectStorageError(d.multipart.uploadPart(k, uploadId, 1, body(first), first.length, { contentMd5: md5(last) }), "BAD_DIGEST");
    expect((await d.multipart.listParts(k, uploadId)) ?? []).toEqual([]);
    const p1 = await d.multipart.uploadPart(k, uploadId, 1, body(first), first.length, { contentMd5: md5(first) });
    const p2 = await d.multipart.uploadPart(k, uploadId, 2, body(last), last.length, { contentMd5: md5(last) });
    await d.multipart.complete(k, uploadId, [
      { partNumber: 1, etag: p1.etag },
      { partNumber: 2, etag: p2.etag },
    ]);
    expectBytes(await readAll((await d.get(k)) as Readable), Buffer.concat([first, last]));
  });
}

/** readPart, where a driver offers it (local): a stored part's bytes before complete, by etag. */
export function defineReadPartContract({ driver, key, partBytes }: ContractContext): void {
  it("multipart readPart: the exact bytes of a stored part (both layouts), null for a stale etag or an ended upload", async () => {
    const d = driver();
    expect(d.multipart.readPart).toBeTypeOf("function");
    if (!d.multipart.readPart) throw new Error("this driver offers no multipart.readPart");
    const p = partBytes();
    for (const partSize of [undefined, p]) {
      const k = key(`read-part-${partSize ?? "free"}.bin`);
      const { uploadId } = await d.multipart.create(k, { partSize });
      const first = deterministicBytes(`${k}#2a`, p);
      const stale = (await d.multipart.uploadPart(k, uploadId, 2, body(first), first.length)).etag;
      const data = deterministicBytes(`${k}#2b`, p);
      const etag = (await d.multipart.uploadPart(k, uploadId, 2, body(data), data.length)).etag;
      const last = deterministicBytes(`${k}#3`, 777);
      const lastEtag = (await d.multipart.uploadPart(k, uploadId, 3, body(last), last.length)).etag;
      expectBytes(await readAll((await d.multipart.readPart(k, uploadId, 2, etag)) as Readable), data);
      expectBytes(await readAll((await d.multipart.readPart(k, uploadId, 3, lastEtag)) as Readable), last);
      expect(await d.multipart.readPart(k, uploadId, 2, stale)).toBeNull();
      expect(await d.multipart.readPart(k, uploadId, 1, etag)).toBeNull();
      await d.multipart.abort(k, uploadId);
      expect(await d.multipart.readPart(k, uploadId, 2, etag)).toBeNull();
    }
  });
}
