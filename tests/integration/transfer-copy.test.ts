import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDriver, type StorageDriver } from "~/server/storage";
import { copyVerified, SourceMismatchError, SourceMissingError } from "~/server/services/transfers/copy";
import { patternBytes, sha256hex } from "../helpers/upload-client";

// copyVerified between two local drivers (no network): parts in parallel with bounded buffers,
// the SHA-256 of what was sent checked before the upload completes, nothing left on the target when
// the source is missing or not the blob's bytes.

const MiB = 1024 * 1024;
let dirs: string[] = [];
let source: StorageDriver;
let target: StorageDriver;

beforeAll(async () => {
  dirs = [await mkdtemp(path.join(os.tmpdir(), "fs-copy-src-")), await mkdtemp(path.join(os.tmpdir(), "fs-copy-dst-"))];
  source = createDriver("local", { root: dirs[0]! });
  target = createDriver("local", { root: dirs[1]! });
});
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function read(s: Readable | null): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const b of s!) parts.push(b as Buffer);
  return Buffer.concat(parts);
}

describe("copyVerified", () => {
  it("copies in parts, in parallel, and the target holds exactly the bytes", async () => {
    const data = patternBytes(21 * MiB + 17, 5001);
    await source.put("uploads/a", Readable.from([data]), { size: data.length });
    const result = await copyVerified(source, target, "uploads/a", { size: data.length, sha256: sha256hex(data), partBytes: 5 * MiB, concurrency: 3 });
    expect(result.parts).toBe(5);
    expect(sha256hex(await read(await target.get("uploads/a")))).toBe(sha256hex(data));
  });

  it("a small blob is one verified put", async () => {
    const data = patternBytes(1000, 5002);
    await source.put("uploads/small", Readable.from([data]), { size: data.length });
    expect((await copyVerified(source, target, "uploads/small", { size: data.length, sha256: sha256hex(data), partBytes: 5 * MiB, concurrency: 2 })).parts).toBe(1);
    expect((await read(await target.get("uploads/small"))).equals(data)).toBe(true);
  });

  it("bytes that are not the blob's (digest or length) are refused before anything lands on the target", async () => {
    const data = patternBytes(11 * MiB, 5003);
    await source.put("uploads/b", Readable.from([data]), { size: data.length });
    const wrongDigest = await copyVerified(source, target, "uploads/b", { size: data.length, sha256: "0".repeat(64), partBytes: 5 * MiB, concurrency: 2 }).catch((e) => e);
    expect(wrongDigest).toBeInstanceOf(SourceMismatchError);
    expect(await target.head("uploads/b")).toBeNull();
    const wrongSize = await copyVerified(source, target, "uploads/b", { size: data.length + 1, sha256: sha256hex(data), partBytes: 5 * MiB, concurrency: 2 }).catch((e) => e);
    expect(wrongSize).toBeInstanceOf(SourceMismatchError);
    expect(await target.head("uploads/b")).toBeNull();
    const missing = await copyVerified(source, target, "uploads/none", { size: 10, sha256: "0".repeat(64), partBytes: 5 * MiB, concurrency: 2 }).catch((e) => e);
    expect(missing).toBeInstanceOf(SourceMissingError);
  });

  it("stops when its signal is aborted (a lost lease, a shutdown) and leaves no object", async () => {
    const data = patternBytes(16 * MiB, 5004);
    await source.put("uploads/c", Readable.from([data]), { size: data.length });
    const controller = new AbortController();
    controller.abort(new Error("lease lost"));
    const error = await copyVerified(source, target, "uploads/c", { size: data.length, sha256: sha256hex(data), partBytes: 5 * MiB, concurrency: 2, signal: controller.signal }).catch((e) => e);
    expect(String(error)).toMatch(/lease lost/);
    expect(await target.head("uploads/c")).toBeNull();
  });
});
