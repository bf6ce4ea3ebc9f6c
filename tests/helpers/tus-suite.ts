import { createHash } from "node:crypto";
import { runQueuedJobs } from "./jobs";
import http from "node:http";
import { Readable } from "node:stream";
import * as tus from "tus-js-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { db } from "~/server/db/client";
import { blobStorage } from "~/server/services/blobs";
import { planChunks } from "~/server/services/uploads/plan";
import { sweepExpiredUploads } from "~/server/services/uploads/sweep";
import { getStorage } from "~/server/storage";
import { startHttpServer, type TestHttpServer } from "./http-server";
import { patternBytes, quotaOf, rawRequest, reply, sha256hex, visibleFiles, type HttpReply } from "./upload-client";
import { createTestUser, type TestUser } from "./users";

// The tus 1.0.0 behaviour suite (API.md "tus 1.0.0 at /api/tus"), run once per storage driver:
// tests/integration/tus.test.ts (local disk) and tus-s3.test.ts (Ceph RGW). Uploads go through the
// real tus-js-client where a standard client is the point, and through raw HTTP for every error.

const TUS = { "tus-resumable": "1.0.0" };

function b64(s: string): string {
  return Buffer.from(s, "utf8").toString("base64");
}

function metadata(fields: Record<string, string>): string {
  return Object.entries(fields)
    .map(([k, v]) => `${k} ${b64(v)}`)
    .join(",");
}

export function defineTusSuite(driverLabel: string) {
  let server: TestHttpServer;
  // Content of its own per driver: the suites share the run's database, where equal content would
  // be deduplicated onto the other suite's blob (on the other backend).
  const seedBase = driverLabel === "local" ? 0 : 5000;
  const bytes = (size: number, seed: number) => patternBytes(size, seed + seedBase);
  let endpoint: string;

  beforeAll(async () => {
    await getStorage().check();
    server = await startHttpServer();
    endpoint = `${server.baseUrl}/api/tus`;
  });
  afterAll(async () => {
    await server.close();
  });

  async function send(method: string, path: string, headers: Record<string, string>, body?: Buffer): Promise<HttpReply> {
    const res = await fetch(`${server.baseUrl}${path}`, { method, headers, body: body ? new Uint8Array(body) : undefined });
    return reply(res);
  }

  /** POST /api/tus; returns the upload's path (/api/tus/{id}) and the reply. */
  async function create(user: TestUser, length: number, fields: Record<string, string> = { filename: "f.bin" }, extra: Record<string, string> = {}) {
    const r = await send("POST", "/api/tus", { ...TUS, ...user.authHeaders, "upload-length": String(length), "upload-metadata": metadata(fields), ...extra });
    return { r, path: r.headers.get("location") ?? "", id: (r.headers.get("location") ?? "").split("/").pop() ?? "" };
  }

  async function patch(user: TestUser, path: string, offset: number, body: Buffer, extra: Record<string, string> = {}) {
    return send("PATCH", path, { ...TUS, ...user.authHeaders, "content-type": "application/offset+octet-stream", "upload-offset": String(offset), ...extra }, body);
  }

  async function head(user: TestUser, path: string) {
    return send("HEAD", path, { ...TUS, ...user.authHeaders });
  }

  async function session(id: string) {
    return db.$primary().uploadSession.findUniqueOrThrow({ where: { id } });
  }

  /** Storage objects of an upload: its object and its tails (`<stagingKey>.tail.*`). */
  async function objectsOf(id: string) {
    const { stagingKey } = await session(id);
    const keys: string[] = [];
    for await (const o of getStorage().list(stagingKey)) keys.push(o.key);
    return keys.sort();
  }

  /** The user's only file is exactly `data`: the entry's sha256 and the bytes in storage. */
  async function expectFile(user: TestUser, name: string, data: Buffer) {
    const files = await visibleFiles(user.actor.userId);
    expect(files.map((f) => f.name)).toEqual([name]);
    const [entry] = files;
    expect(Number(entry!.size)).toBe(data.length);
    expect(entry!.blob!.sha256).toBe(sha256hex(data));
    // Read from the blob's own backend: equal content (the empty file) may have been stored first
    // by the other driver's suite in this run's database.
    const stored = await blobStorage(entry!.blob!.driver).get(entry!.blob!.storageKey);
    const parts: Buffer[] = [];
    for await (const b of stored!) parts.push(b as Buffer);
    expect(sha256hex(Buffer.concat(parts))).toBe(sha256hex(data));
    expect(await quotaOf(user.actor.userId)).toMatchObject({ used: data.length, reserved: 0 });
  }

  /** Uploads with tus-js-client; resolves with the upload URL once onSuccess fired. */
  function tusUpload(
    user: TestUser,
    input: Buffer | Readable,
    options: Partial<tus.UploadOptions> & { abortAfter?: number } = {},
  ): { done: Promise<string>; upload: tus.Upload } {
    let upload!: tus.Upload;
    const done = new Promise<string>((resolve, reject) => {
      const { abortAfter, ...rest } = options;
      upload = new tus.Upload(input as never, {
        endpoint,
        headers: user.authHeaders,
        metadata: { filename: "movie.mkv" },
        retryDelays: [],
        storeFingerprintForResuming: false,
        removeFingerprintOnSuccess: true,
        ...rest,
        onProgress: (sent) => {
          if (abortAfter !== undefined && sent >= abortAfter) {
            void upload.abort().then(() => resolve(upload.url ?? ""));
          }
        },
        onSuccess: () => resolve(upload.url ?? ""),
        onError: (e) => reject(e),
      });
      upload.start();
    });
    return { done, upload };
  }

  describe(`tus 1.0.0 (${driverLabel})`, () => {
    let partSize: number;

    beforeAll(async () => {
      const user = await createTestUser();
      const { id } = await create(user, 100);
      partSize = (await session(id)).chunkSize;
    });

    it("OPTIONS describes the server, Tus-Max-Size is the caller's free quota", async () => {
      const user = await createTestUser({ quotaBytes: 50_000_000 });
      const anon = await send("OPTIONS", "/api/tus", {});
      expect(anon.status).toBe(204);
      expect(anon.headers.get("tus-resumable")).toBe("1.0.0");
      expect(anon.headers.get("tus-version")).toBe("1.0.0");
      expect(anon.headers.get("tus-extension")).toBe("creation,creation-with-upload,termination,checksum,expiration");
      expect(anon.headers.get("tus-checksum-algorithm")).toBe("sha1,sha256");
      expect(Number(anon.headers.get("tus-max-size"))).toBeGreaterThan(100 * 1024 ** 3);
      const mine = await send("OPTIONS", "/api/tus", user.authHeaders);
      expect(mine.headers.get("tus-max-size")).toBe("50000000");
    });

    it("tus-js-client: the whole file in one PATCH becomes a file, hashed while it streamed", async () => {
      const user = await createTestUser();
      const data = bytes(partSize * 2 + 12_345, 201);
      const patches: Array<string | undefined> = [];
      const url = await tusUpload(user, data, {
        onBeforeRequest: (req) => {
          if (req.getMethod() === "PATCH") patches.push(req.getHeader("Upload-Offset"));
        },
      }).done;
      expect(patches).toEqual(["0"]);
      await expectFile(user, "movie.mkv", data);
      const id = new URL(url).pathname.split("/").pop()!;
      const s = await session(id);
      expect(s).toMatchObject({ state: "completed", protocol: "tus", contentSha256: sha256hex(data), tailKey: null });
      // The blob lives where the parts were assembled; no tail object is left.
      const [entry] = await visibleFiles(user.actor.userId);
      expect(entry!.blob!.storageKey).toBe(s.stagingKey);
      expect(await objectsOf(id)).toEqual([s.stagingKey]);
      // HEAD of a finished upload: the whole length, no expiry.
      const h = await head(user, new URL(url).pathname);
      expect(h.status).toBe(200);
      expect(h.headers.get("upload-offset")).toBe(String(data.length));
      expect(h.headers.get("upload-expires")).toBeNull();
    });

    it("tus-js-client: small PATCHes that end inside parts (Content-Length), tails carried over", async () => {
      const user = await createTestUser();
      const data = bytes(partSize + Math.floor(partSize / 2) + 999, 202);
      const chunkSize = Math.floor(partSize / 3) + 7;
      let patchCount = 0;
      await tusUpload(user, data, {
        chunkSize,
        onBeforeRequest: (req) => {
          if (req.getMethod() === "PATCH") patchCount++;
        },
      }).done;
      expect(patchCount).toBe(Math.ceil(data.length / chunkSize));
      await expectFile(user, "movie.mkv", data);
    });

    it("tus-js-client: a stream without Content-Length (spooled pieces)", async () => {
      const user = await createTestUser();
      const data = bytes(partSize + 54_321, 203);
      const chunkSize = Math.floor(partSize / 2) + 3;
      await tusUpload(user, Readable.from([data.subarray(0, 1000), data.subarray(1000)]), { chunkSize, uploadSize: data.length }).done;
      await expectFile(user, "movie.mkv", data);
    });

    it("tus-js-client: an interrupted upload resumes from the offset HEAD reports", async () => {
      const user = await createTestUser();
      // Big enough that the socket buffers cannot hold what is left when the client stops.
      const data = bytes(partSize * 4 + 4_321, 204);
      const first = tusUpload(user, data, { abortAfter: Math.floor(partSize * 1.3) });
      const url = await first.done;
      expect(url).toMatch(/\/api\/tus\/[A-Za-z0-9_-]+$/);
      await server.idle();
      const path = new URL(url).pathname;
      const h = await head(user, path);
      const offset = Number(h.headers.get("upload-offset"));
      // Whole parts that arrived are kept (the body's length was announced: the part in flight is not).
      expect(offset).toBeGreaterThanOrEqual(partSize);
      expect(offset % partSize).toBe(0);
      expect(offset).toBeLessThan(data.length);
      expect(await visibleFiles(user.actor.userId)).toHaveLength(0);

      const offsets: Array<string | undefined> = [];
      await tusUpload(user, data, {
        uploadUrl: url,
        onBeforeRequest: (req) => {
          if (req.getMethod() === "PATCH") offsets.push(req.getHeader("Upload-Offset"));
        },
      }).done;
      expect(offsets).toEqual([String(offset)]);
      await expectFile(user, "movie.mkv", data);
    });

    it("an interrupted PATCH without Content-Length keeps every byte that arrived", async () => {
      const user = await createTestUser();
      const data = bytes(partSize + 500_000, 205);
      const { path, id } = await create(user, data.length);
      const cut = partSize + 123_456;
      const req = http.request(new URL(path, server.baseUrl), {
        method: "PATCH",
        headers: { ...TUS, ...user.authHeaders, "content-type": "application/offset+octet-stream", "upload-offset": "0", "transfer-encoding": "chunked" },
      });
      req.on("error", () => {});
      req.write(data.subarray(0, cut));
      // The first part is stored; give the server a moment to read the rest that was sent, then cut.
      await expect.poll(() => db.$primary().uploadChunk.count({ where: { sessionId: id } }), { timeout: 20_000 }).toBe(1);
      await new Promise((resolve) => setTimeout(resolve, 500));
      req.destroy();
      await server.idle();
      const h = await head(user, path);
      expect(h.headers.get("upload-offset")).toBe(String(cut));
      expect((await session(id)).tailKey).not.toBeNull();
      expect((await patch(user, path, cut, data.subarray(cut))).status).toBe(204);
      await expectFile(user, "f.bin", data);
      expect(await objectsOf(id)).toEqual([(await session(id)).stagingKey]);
    });

    it("creation-with-upload, then PATCHes; Upload-Metadata is echoed by HEAD", async () => {
      const user = await createTestUser();
      const data = bytes(300_000, 206);
      const fields = { filename: "报告 final.pdf", note: "x" };
      const r = await send(
        "POST",
        "/api/tus",
        { ...TUS, ...user.authHeaders, "upload-length": String(data.length), "upload-metadata": metadata(fields), "content-type": "application/offset+octet-stream" },
        data.subarray(0, 100_000),
      );
      expect(r.status).toBe(201);
      expect(r.headers.get("upload-offset")).toBe("100000");
      expect(new Date(r.headers.get("upload-expires")!).getTime()).toBeGreaterThan(Date.now() + 23 * 3_600_000);
      const path = r.headers.get("location")!;
      expect(path).toMatch(/^\/api\/tus\/[A-Za-z0-9_-]+$/);
      const h = await head(user, path);
      expect(h.status).toBe(200);
      expect(h.headers.get("upload-length")).toBe(String(data.length));
      expect(h.headers.get("cache-control")).toBe("no-store");
      expect(h.headers.get("upload-metadata")).toBe(metadata(fields));
      expect((await patch(user, path, 100_000, data.subarray(100_000))).headers.get("upload-offset")).toBe(String(data.length));
      await expectFile(user, "报告 final.pdf", data);
    });

    it("PATCH errors: 409 offset mismatch, 415 content type, 412 Tus-Resumable, 400 past the length", async () => {
      const user = await createTestUser();
      const data = bytes(50_000, 207);
      const { path } = await create(user, data.length);
      expect((await patch(user, path, 0, data.subarray(0, 10_000))).status).toBe(204);
      const mismatch = await patch(user, path, 0, data.subarray(0, 10_000));
      expect(mismatch.status).toBe(409);
      expect(mismatch.json.error.code).toBe("CONFLICT");
      expect(mismatch.headers.get("tus-resumable")).toBe("1.0.0");
      expect((await patch(user, path, 20_000, data.subarray(20_000, 30_000))).status).toBe(409);
      expect((await patch(user, path, 10_000, data.subarray(10_000, 20_000), { "content-type": "application/octet-stream" })).status).toBe(415);
      const noVersion = await send("PATCH", path, { ...user.authHeaders, "content-type": "application/offset+octet-stream", "upload-offset": "10000" }, data.subarray(10_000, 20_000));
      expect(noVersion.status).toBe(412);
      expect(noVersion.headers.get("tus-version")).toBe("1.0.0");
      expect((await patch(user, path, 10_000, data.subarray(10_000, 20_000), { "tus-resumable": "0.2.2" })).status).toBe(412);
      const noOffset = await send("PATCH", path, { ...TUS, ...user.authHeaders, "content-type": "application/offset+octet-stream" }, data.subarray(10_000));
      expect(noOffset.status).toBe(400);
      // Past Upload-Length: announced by Content-Length, and found only while streaming (chunked).
      expect((await patch(user, path, 10_000, Buffer.concat([data.subarray(10_000), Buffer.from("extra")]))).status).toBe(400);
      const chunked = await rawRequest(server.baseUrl, {
        method: "PATCH",
        path,
        headers: { ...TUS, ...user.authHeaders, "content-type": "application/offset+octet-stream", "upload-offset": "10000", "transfer-encoding": "chunked" },
        body: Buffer.concat([data.subarray(10_000), Buffer.from("extra")]),
      });
      expect(chunked.status).toBe(400);
      expect(await visibleFiles(user.actor.userId)).toHaveLength(0);
      expect((await head(user, path)).headers.get("upload-offset")).toBe("10000");
      expect((await patch(user, path, 10_000, data.subarray(10_000))).status).toBe(204);
      await expectFile(user, "f.bin", data);
      // A finished upload takes an empty PATCH at its end, nothing else.
      expect((await patch(user, path, data.length, Buffer.alloc(0))).status).toBe(204);
      expect((await patch(user, path, data.length, Buffer.from("x"))).status).toBe(400);
      expect((await send("DELETE", path, { ...TUS, ...user.authHeaders })).status).toBe(409);
    });

    it("checksums: sha1 and sha256 accepted, a mismatch is 460 and keeps nothing, other algorithms 400", async () => {
      const user = await createTestUser();
      const data = bytes(partSize + 70_000, 208);
      const { path, id } = await create(user, data.length);
      const digest = (algorithm: string, b: Buffer) => `${algorithm} ${createHash(algorithm).update(b).digest("base64")}`;
      const a = data.subarray(0, 40_000);
      expect((await patch(user, path, 0, a, { "upload-checksum": digest("sha1", a) })).status).toBe(204);
      // This one would fill the first part and leave a new tail: neither may count.
      const b = data.subarray(40_000, partSize + 50_000);
      const before = await objectsOf(id);
      const bad = await patch(user, path, 40_000, b, { "upload-checksum": digest("sha256", data.subarray(0, b.length)) });
      expect(bad.status).toBe(460);
      expect(bad.json.error.code).toBe("CHECKSUM_MISMATCH");
      expect((await head(user, path)).headers.get("upload-offset")).toBe("40000");
      expect(await db.$primary().uploadChunk.count({ where: { sessionId: id } })).toBe(0);
      expect(await objectsOf(id)).toEqual(before);
      expect((await patch(user, path, 40_000, b, { "upload-checksum": `md5 ${createHash("md5").update(b).digest("base64")}` })).status).toBe(400);
      expect((await patch(user, path, 40_000, b, { "upload-checksum": "sha256 !!!" })).status).toBe(400);
      expect((await patch(user, path, 40_000, b, { "upload-checksum": digest("sha256", b) })).status).toBe(204);
      const c = data.subarray(partSize + 50_000);
      expect((await patch(user, path, partSize + 50_000, c, { "upload-checksum": digest("sha256", c) })).status).toBe(204);
      await expectFile(user, "f.bin", data);
    });

    it("someone else's upload is 404 for HEAD, PATCH and DELETE; no credentials 401", async () => {
      const owner = await createTestUser();
      const intruder = await createTestUser();
      const data = bytes(1000, 209);
      const { path } = await create(owner, data.length);
      expect((await head(intruder, path)).status).toBe(404);
      expect((await patch(intruder, path, 0, data)).status).toBe(404);
      expect((await send("DELETE", path, { ...TUS, ...intruder.authHeaders })).status).toBe(404);
      expect((await head(intruder, "/api/tus/doesnotexist")).status).toBe(404);
      expect((await head(intruder, "/api/tus/..%2F..%2Fetc")).status).toBe(404);
      expect((await send("PATCH", path, { ...TUS, "content-type": "application/offset+octet-stream", "upload-offset": "0" }, data)).status).toBe(401);
      expect((await send("POST", "/api/tus", { ...TUS, "upload-length": "10", "upload-metadata": metadata({ filename: "a" }) })).status).toBe(401);
      expect((await head(owner, path)).headers.get("upload-offset")).toBe("0");
    });

    it("termination removes the bytes and gives the reservation back; the upload is then 410", async () => {
      const user = await createTestUser();
      const data = bytes(partSize + 30_000, 210);
      const { path, id } = await create(user, data.length);
      expect((await quotaOf(user.actor.userId)).reserved).toBe(data.length);
      expect((await patch(user, path, 0, data.subarray(0, partSize + 10_000))).status).toBe(204);
      const s = await session(id);
      expect(s.tailKey).not.toBeNull();
      const del = await send("DELETE", path, { ...TUS, ...user.authHeaders });
      expect(del.status).toBe(204);
      expect(del.headers.get("tus-resumable")).toBe("1.0.0");
      expect(await quotaOf(user.actor.userId)).toMatchObject({ reserved: 0, used: 0 });
      await runQueuedJobs(); // the worker deletes an ended upload's bytes (storage.discard.v1)
      expect(await objectsOf(id)).toEqual([]);
      expect(await getStorage().multipart.listParts(s.stagingKey, s.multipartId!)).toBeNull();
      expect((await head(user, path)).status).toBe(410);
      expect((await patch(user, path, partSize + 10_000, data.subarray(partSize + 10_000))).status).toBe(410);
      expect((await send("DELETE", path, { ...TUS, ...user.authHeaders })).status).toBe(410);
    });

    it("an expired upload is 410, and the sweeper removes its bytes and releases its quota", async () => {
      const user = await createTestUser();
      const data = bytes(partSize + 30_000, 211);
      const { path, id } = await create(user, data.length);
      expect((await patch(user, path, 0, data.subarray(0, partSize + 5))).status).toBe(204);
      const s = await session(id);
      await db.uploadSession.update({ where: { id }, data: { expiresAt: new Date(Date.now() - 1000) } });
      expect((await head(user, path)).status).toBe(410);
      expect((await patch(user, path, partSize + 5, data.subarray(partSize + 5))).status).toBe(410);
      await sweepExpiredUploads();
      expect((await session(id)).state).toBe("expired");
      expect(await quotaOf(user.actor.userId)).toMatchObject({ reserved: 0, used: 0 });
      await runQueuedJobs();
      expect(await objectsOf(id)).toEqual([]);
      expect(await getStorage().multipart.listParts(s.stagingKey, s.multipartId!)).toBeNull();
    });

    it("two PATCHes at once: one writes, the other is 409, never two writers", async () => {
      const user = await createTestUser();
      const data = bytes(200_000, 212);
      const { path, id } = await create(user, data.length);
      // PATCH A sends half its body and holds the upload while the rest is pending.
      const url = new URL(path, server.baseUrl);
      const a = http.request(url, {
        method: "PATCH",
        headers: { ...TUS, ...user.authHeaders, "content-type": "application/offset+octet-stream", "upload-offset": "0", "content-length": String(data.length) },
      });
      const aDone = new Promise<number>((resolve, reject) => {
        a.on("response", (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        a.on("error", reject);
      });
      a.write(data.subarray(0, 100_000));
      await expect.poll(() => db.$primary().uploadChunkClaim.count({ where: { sessionId: id, index: -1 } })).toBe(1);
      const b = await patch(user, path, 0, data);
      expect(b.status).toBe(409);
      expect(b.headers.get("retry-after")).not.toBeNull();
      a.end(data.subarray(100_000));
      expect(await aDone).toBe(204);
      await expectFile(user, "f.bin", data);
    });

    it("a part the storage no longer holds as recorded (a writer that lost its lock rewrote it): the last PATCH is 409, HEAD rewinds, the resend completes intact", async () => {
      const user = await createTestUser();
      // The part size this backend gets (it depends on the file's size only past the part-count limit).
      const { chunkSize } = planChunks(1, undefined, getStorage().capabilities);
      const data = bytes(2 * chunkSize + 1000, 215);
      const { path, id } = await create(user, data.length, { filename: "rewound.bin" });
      expect((await patch(user, path, 0, data.subarray(0, chunkSize))).status).toBe(204);
      // What a taken-over writer leaves: part 1 in storage is no longer the one recorded.
      await db.$executeRaw`UPDATE UploadChunk SET etag = 'overwritten' WHERE sessionId = ${id} AND \`index\` = 0`;
      const last = await patch(user, path, chunkSize, data.subarray(chunkSize));
      expect(last.status).toBe(409);
      expect(await visibleFiles(user.actor.userId)).toEqual([]);
      const h = await head(user, path);
      expect(h.status).toBe(200);
      expect(h.headers.get("upload-offset")).toBe("0");
      expect((await patch(user, path, 0, data)).status).toBe(204);
      await expectFile(user, "rewound.bin", data);
    });

    it("names: filename is required and checked like every name; clashes get a suffix", async () => {
      const user = await createTestUser();
      for (const filename of ["", ".", "..", "a/b", "../../etc/passwd", "nul\u0000byte", "line\nbreak", "x".repeat(256)]) {
        const { r } = await create(user, 10, { filename });
        expect(r.status, JSON.stringify(filename)).toBe(400);
        expect(r.json.error.code).toBe("BAD_REQUEST");
      }
      expect((await create(user, 10, { parentId: "x" })).r.status).toBe(400);
      expect((await send("POST", "/api/tus", { ...TUS, ...user.authHeaders, "upload-length": "10" })).status).toBe(400);
      expect((await send("POST", "/api/tus", { ...TUS, ...user.authHeaders, "upload-length": "10", "upload-metadata": "filename ***" })).status).toBe(400);
      expect((await send("POST", "/api/tus", { ...TUS, ...user.authHeaders, "upload-length": "-1", "upload-metadata": metadata({ filename: "a" }) })).status).toBe(400);
      const deferred = await send("POST", "/api/tus", { ...TUS, ...user.authHeaders, "upload-defer-length": "1", "upload-metadata": metadata({ filename: "a" }) });
      expect(deferred.status).toBe(400);
      expect(deferred.json.error.message).toMatch(/Upload-Defer-Length/);
      expect(await db.$primary().uploadSession.count({ where: { ownerId: user.actor.userId } })).toBe(0);
      expect((await quotaOf(user.actor.userId)).reserved).toBe(0);

      const one = Buffer.from("first");
      const two = Buffer.from("second");
      for (const body of [one, two]) {
        const { path } = await create(user, body.length, { filename: "notes.txt" });
        expect((await patch(user, path, 0, body)).status).toBe(204);
      }
      const names = (await visibleFiles(user.actor.userId)).map((f) => f.name);
      expect(names).toEqual(["notes.txt", "notes (1).txt"]);
    });

    it("parentId: the caller's folder works, anyone else's or a missing one is 404", async () => {
      const owner = await createTestUser();
      const other = await createTestUser();
      const folder = await owner.caller.file.mkdir({ name: "inbox" });
      const theirs = await other.caller.file.mkdir({ name: "theirs" });
      expect((await create(owner, 10, { filename: "a.txt", parentId: theirs.id })).r.status).toBe(404);
      expect((await create(owner, 10, { filename: "a.txt", parentId: "nonexistent0000000000000" })).r.status).toBe(404);
      const { r, path } = await create(owner, 3, { filename: "a.txt", parentId: folder.id });
      expect(r.status).toBe(201);
      expect((await patch(owner, path, 0, Buffer.from("abc"))).status).toBe(204);
      const [file] = await visibleFiles(owner.actor.userId);
      expect(file).toMatchObject({ name: "a.txt", parentId: folder.id });
    });

    it("quota is reserved at creation: more than the free quota is 413", async () => {
      const user = await createTestUser({ quotaBytes: 100_000 });
      const { r } = await create(user, 100_001);
      expect(r.status).toBe(413);
      expect(r.json.error.code).toBe("PAYLOAD_TOO_LARGE");
      const ok = await create(user, 60_000);
      expect(ok.r.status).toBe(201);
      expect((await create(user, 60_000)).r.status).toBe(413);
      expect((await quotaOf(user.actor.userId)).reserved).toBe(60_000);
    });

    it("an empty upload is a file as soon as it is created", async () => {
      const user = await createTestUser();
      const { r, path } = await create(user, 0, { filename: "empty.txt" });
      expect(r.status).toBe(201);
      expect(r.headers.get("upload-offset")).toBe("0");
      expect((await head(user, path)).headers.get("upload-offset")).toBe("0");
      await expectFile(user, "empty.txt", Buffer.alloc(0));
    });

    it("identical content uploaded twice is stored once (dedup), each file charged", async () => {
      const user = await createTestUser();
      const data = bytes(partSize + 10, 213);
      const keys: string[] = [];
      for (const name of ["one.bin", "two.bin"]) {
        const url = await tusUpload(user, data, { metadata: { filename: name } }).done;
        keys.push((await session(new URL(url).pathname.split("/").pop()!)).stagingKey);
      }
      const files = await visibleFiles(user.actor.userId);
      expect(files.map((f) => f.blobId)).toEqual([files[0]!.blobId, files[0]!.blobId]);
      expect(files[0]!.blob!.refCount).toBe(2);
      expect(await getStorage().head(keys[1]!)).toBeNull();
      expect(await quotaOf(user.actor.userId)).toMatchObject({ used: data.length * 2, reserved: 0 });
    });
  });
}
