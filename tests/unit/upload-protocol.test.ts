import { createHash } from "node:crypto";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { describe, expect, it } from "vitest";
import { parseContentDigest } from "~/server/http/upload-bodies";
import { Meter } from "~/server/services/uploads/streams";
import { chooseRanges } from "~/server/services/uploads/challenge";
import { chooseMime, guessMime } from "~/server/services/uploads/mime";
import { chunkLength, planChunks } from "~/server/services/uploads/plan";
import { DomainError } from "~/server/errors";

const MiB = 1024 * 1024;
const local = { multipart: true, presign: false, minPartBytes: 1, maxPartBytes: 5 * 1024 ** 3, maxParts: 10_000 };
const s3 = { multipart: true, presign: true, minPartBytes: 5 * MiB, maxPartBytes: 5 * 1024 ** 3, maxParts: 10_000 };

describe("planChunks", () => {
  it("uses the requested size, 8 MiB by default", () => {
    expect(planChunks(20 * MiB, undefined, local)).toEqual({ chunkSize: 8 * MiB, chunkCount: 3 });
    expect(planChunks(20 * MiB, 2 * MiB, local)).toEqual({ chunkSize: 2 * MiB, chunkCount: 10 });
    expect(planChunks(0, undefined, local)).toEqual({ chunkSize: 8 * MiB, chunkCount: 0 });
  });
  it("raises chunks to the backend's minimum part size (S3: 5 MiB)", () => {
    expect(planChunks(20 * MiB, MiB, s3)).toEqual({ chunkSize: 5 * MiB, chunkCount: 4 });
  });
  it("raises chunks so the parts fit the part count limit, and refuses what needs > 64 MiB chunks", () => {
    const size = 200 * 1024 ** 3;
    const plan = planChunks(size, 8 * MiB, s3);
    expect(plan.chunkCount).toBeLessThanOrEqual(10_000);
    expect(plan.chunkSize % MiB).toBe(0);
    expect(() => planChunks(700 * 1024 ** 3, 8 * MiB, s3)).toThrow(DomainError);
  });
  it("knows each chunk's length", () => {
    const session = { size: BigInt(10 * MiB + 5), chunkSize: 4 * MiB, chunkCount: 3 };
    expect([0, 1, 2].map((i) => chunkLength(session, i))).toEqual([4 * MiB, 4 * MiB, 2 * MiB + 5]);
  });
});

describe("parseContentDigest", () => {
  const digest = createHash("sha256").update("x").digest();
  it("reads the sha-256 member of an RFC 9530 dictionary", () => {
    expect(parseContentDigest(`sha-256=:${digest.toString("base64")}:`)).toEqual(digest);
    expect(parseContentDigest(`sha-512=:AAAA:, SHA-256=:${digest.toString("base64")}:`)).toEqual(digest);
    expect(parseContentDigest(null)).toBeNull();
    expect(parseContentDigest("sha-512=:AAAA:")).toBeNull();
  });
  it("refuses a malformed sha-256 value", () => {
    for (const bad of ["sha-256=abc", "sha-256=:AAAA:", `sha-256=${digest.toString("base64")}`]) {
      expect(() => parseContentDigest(bad)).toThrow(DomainError);
    }
  });
});

async function meter(data: Buffer[], options: ConstructorParameters<typeof Meter>[0]) {
  const m = new Meter(options);
  const sink = new Writable({ write: (_c, _e, cb) => cb() });
  await pipeline(Readable.from(data), m, sink);
  return m;
}

describe("Meter", () => {
  const body = [Buffer.from("hello "), Buffer.from("world")];
  const sha = createHash("sha256").update("hello world").digest();
  it("counts, hashes and checks the exact size", async () => {
    const m = await meter(body, { exact: 11 });
    expect(m.bytes).toBe(11);
    expect(m.digest).toEqual(sha);
    await expect(meter(body, { exact: 10 })).rejects.toMatchObject({ code: "BAD_REQUEST" });
    await expect(meter(body, { exact: 12 })).rejects.toMatchObject({ code: "BAD_REQUEST" });
  });
  it("fails on a digest mismatch before the stream ends (422)", async () => {
    await expect(meter(body, { exact: 11, expectedDigest: sha })).resolves.toBeTruthy();
    await expect(meter(body, { exact: 11, expectedDigest: Buffer.alloc(32) })).rejects.toMatchObject({ code: "UNPROCESSABLE_CONTENT" });
  });
  it("stops at an upper bound with the given error", async () => {
    const error = () => new DomainError("PAYLOAD_TOO_LARGE", "full");
    await expect(meter(body, { max: { bytes: 5, error } })).rejects.toMatchObject({ code: "PAYLOAD_TOO_LARGE" });
  });
});

describe("chooseRanges", () => {
  it("asks 8-16 ranges of 4-64 KiB inside the file, different every time", () => {
    const size = 1024 ** 3;
    const a = chooseRanges(size);
    const b = chooseRanges(size);
    expect(a.length).toBeGreaterThanOrEqual(8);
    expect(a.length).toBeLessThanOrEqual(16);
    for (const r of a) {
      expect(r.length).toBeGreaterThanOrEqual(4096);
      expect(r.length).toBeLessThanOrEqual(65536);
      expect(r.offset + r.length).toBeLessThanOrEqual(size);
    }
    expect(a).not.toEqual(b);
  });
  it("asks a tiny file several times over, and nothing of an empty one", () => {
    const r = chooseRanges(100);
    expect(r.length).toBeGreaterThanOrEqual(8);
    for (const g of r) expect(g).toEqual({ offset: 0, length: 100 });
    expect(chooseRanges(0)).toEqual([]);
  });
});

describe("mime", () => {
  it("prefers a specific declared type, else guesses from the extension", () => {
    expect(chooseMime("a.bin", "image/png")).toBe("image/png");
    expect(chooseMime("a.pdf", "application/octet-stream")).toBe("application/pdf");
    expect(chooseMime("a.PDF", "")).toBe("application/pdf");
    expect(chooseMime("a.txt", "text/plain; charset=utf-8")).toBe("text/plain");
    expect(chooseMime("a", "not a type")).toBe("application/octet-stream");
    expect(guessMime(".bashrc")).toBe("application/octet-stream");
    expect(guessMime("archive.tar.gz")).toBe("application/gzip");
  });
});
