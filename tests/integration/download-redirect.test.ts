import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import { env } from "~/env";
import { blobStorage } from "~/server/services/blobs";
import { respondWithFile, type DownloadTarget } from "~/server/http/respond-file";
import { joinKey } from "~/server/storage/keys";
import { bytes, sha256hex } from "../helpers/drive-files";
import { dispositionName } from "../helpers/drive-http";
import { CEPH_MISSING } from "../helpers/storage-backends";

// Downloads from object storage (s3 driver on the Ceph RGW scripts/test.sh starts): redirect mode
// answers 302 to a presigned URL that serves the bytes (ranges too) under the file's real name;
// proxy mode streams them through. Without an RGW this fails, on purpose, like the storage suite.

const keys: string[] = [];
afterAll(async () => {
  if (env.S3_ENDPOINT) for (const key of keys) await blobStorage("s3").delete(key);
});

async function s3File(name: string, data: Buffer): Promise<DownloadTarget> {
  if (!env.S3_ENDPOINT) throw new Error(CEPH_MISSING);
  const storage = blobStorage("s3");
  await storage.check();
  const key = joinKey("test-downloads", randomBytes(8).toString("hex"));
  keys.push(key);
  await storage.put(key, Readable.from([data]), { size: data.length });
  return { entryId: "e1", name, mime: "text/plain", size: data.length, sha256: sha256hex(data), storageKey: key, driver: "s3", createdAt: new Date() };
}

const request = (headers: Record<string, string> = {}) => ({ method: "GET", headers: new Headers(headers) });

async function bodyOf(body: unknown): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of body as Readable) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks);
}

describe("object storage downloads", () => {
  it("redirect mode: 302 to a presigned URL with the download name; the URL serves bytes and ranges", async () => {
    const data = bytes(300_000, 77);
    const target = await s3File('Ünïcode "quoted"; name.txt', data);
    const deliveries: boolean[] = [];
    const res = await respondWithFile(request(), target, async ({ counted }) => void deliveries.push(counted), { mode: "redirect" });
    expect(res.status).toBe(302);
    expect(res.headers!["cache-control"]).toBe("no-store");
    expect(deliveries).toEqual([true]);
    const location = res.headers!.location!;
    expect(location).toMatch(/^http:\/\/127\.0\.0\.1:\d+\//);

    const direct = await fetch(location);
    expect(direct.status).toBe(200);
    expect(Buffer.from(await direct.arrayBuffer()).equals(data)).toBe(true);
    expect(dispositionName(direct.headers.get("content-disposition"))).toBe('Ünïcode "quoted"; name.txt');
    const ranged = await fetch(location, { headers: { range: "bytes=1000-1999" } });
    expect(ranged.status).toBe(206);
    expect(Buffer.from(await ranged.arrayBuffer()).equals(data.subarray(1000, 2000))).toBe(true);

    // validators are still answered by the drive, without a redirect
    const cached = await respondWithFile(request({ "if-none-match": `"${target.sha256}"` }), target, undefined, { mode: "redirect" });
    expect(cached.status).toBe(304);
    const beyond = await respondWithFile(request({ range: "bytes=999999-" }), target, undefined, { mode: "redirect" }).catch((e: unknown) => e);
    expect((beyond as { status?: number }).status).toBe(416);
  });

  it("proxy mode streams from the object store, ranges included", async () => {
    const data = bytes(2 * 1024 * 1024 + 17, 78);
    const target = await s3File("proxied.bin", data);
    const whole = await respondWithFile(request(), target, undefined, { mode: "proxy" });
    expect(whole.status).toBe(200);
    expect((await bodyOf(whole.body)).equals(data)).toBe(true);
    const part = await respondWithFile(request({ range: "bytes=-100" }), target, undefined, { mode: "proxy" });
    expect(part.status).toBe(206);
    expect(part.headers!["content-range"]).toBe(`bytes ${data.length - 100}-${data.length - 1}/${data.length}`);
    expect((await bodyOf(part.body)).equals(data.subarray(-100))).toBe(true);
  });
});
