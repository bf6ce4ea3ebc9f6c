import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signedContentUrl } from "~/server/auth/signed-url";
import { expectTrpcError } from "../helpers/drive-expect";
import { bytes, cleanupDriveUsers, putFile, sha256hex } from "../helpers/drive-files";
import { abortAfter, dispositionName, errorCode, get } from "../helpers/drive-http";
import { startHttpServer, type TestHttpServer } from "../helpers/http-server";
import { createTestUser, type TestUser } from "../helpers/users";

// GET|HEAD /api/files/{id}/content over a real port (the custom server's node:http path): ranges,
// validators, disposition, types, credentials, signed URLs, and streaming big files.

let server: TestHttpServer;
const users: TestUser[] = [];
let owner: TestUser;
const data = bytes(200_000, 7);
let fileId: string;

beforeAll(async () => {
  server = await startHttpServer();
  owner = await createTestUser();
  users.push(owner);
  fileId = (await putFile(owner, { name: "data.bin", data, mime: "application/x-test" })).id;
});
afterAll(async () => {
  await server.close();
  await cleanupDriveUsers(users);
});

const url = (id: string) => `${server.baseUrl}/api/files/${id}/content`;
const as = (u: TestUser, headers: Record<string, string> = {}) => ({ headers: { ...u.authHeaders, ...headers } });

describe("whole downloads", () => {
  it("serves the bytes with validators, length, type and disposition", async () => {
    const r = await get(url(fileId), as(owner));
    expect(r.status).toBe(200);
    expect(r.body.equals(data)).toBe(true);
    expect(r.headers.get("etag")).toBe(`"${sha256hex(data)}"`);
    expect(r.headers.get("accept-ranges")).toBe("bytes");
    expect(r.headers.get("content-length")).toBe(String(data.length));
    expect(r.headers.get("content-type")).toBe("application/x-test");
    expect(r.headers.get("x-content-type-options")).toBe("nosniff");
    expect(r.headers.get("content-disposition")).toBe(`attachment; filename="data.bin"; filename*=UTF-8''data.bin`);
    expect(r.headers.get("last-modified")).toBeTruthy();
  });

  it("keeps unicode, quotes and semicolons in the download name", async () => {
    const name = 'Résumé "final"; v2 ☃ 100%.txt';
    const f = await putFile(owner, { name, data: "cv" });
    const r = await get(url(f.id), as(owner));
    expect(dispositionName(r.headers.get("content-disposition"))).toBe(name);
    expect(r.headers.get("content-disposition")).toMatch(/^attachment; filename="Resume _final_; v2 _ 100_.txt"; /);
  });

  it("defaults the type to application/octet-stream and never lets HTML render inline", async () => {
    const plain = await putFile(owner, { name: "noext", data: "x", mime: null });
    expect((await get(url(plain.id), as(owner))).headers.get("content-type")).toBe("application/octet-stream");
    const html = await putFile(owner, { name: "page.html", data: "<script>alert(1)</script>", mime: "text/html" });
    const r = await get(url(html.id), as(owner));
    expect(r.headers.get("content-type")).toBe("text/html");
    expect(r.headers.get("content-disposition")).toMatch(/^attachment;/);
    expect(r.headers.get("x-content-type-options")).toBe("nosniff");
  });

  it("serves an empty file", async () => {
    const empty = await putFile(owner, { name: "empty", data: Buffer.alloc(0) });
    const r = await get(url(empty.id), as(owner));
    expect(r.status).toBe(200);
    expect(r.headers.get("content-length")).toBe("0");
    expect(r.body.length).toBe(0);
    const ranged = await get(url(empty.id), as(owner, { range: "bytes=0-" }));
    expect(ranged.status).toBe(416);
    expect(ranged.headers.get("content-range")).toBe("bytes */0");
  });
});

describe("ranges", () => {
  it("serves a-b, a- and -n as 206 with Content-Range", async () => {
    const cases: Array<[string, number, number]> = [
      ["bytes=0-99", 0, 99],
      ["bytes=1000-", 1000, data.length - 1],
      ["bytes=-500", data.length - 500, data.length - 1],
      ["bytes=199990-300000", 199_990, data.length - 1],
      ["bytes=0-", 0, data.length - 1],
    ];
    for (const [range, start, end] of cases) {
      const r = await get(url(fileId), as(owner, { range }));
      expect(r.status, range).toBe(206);
      expect(r.headers.get("content-range")).toBe(`bytes ${start}-${end}/${data.length}`);
      expect(r.headers.get("content-length")).toBe(String(end - start + 1));
      expect(r.body.equals(data.subarray(start, end + 1)), range).toBe(true);
      expect(r.headers.get("etag")).toBe(`"${sha256hex(data)}"`);
    }
  });

  it("answers 416 with bytes */size when nothing is satisfiable", async () => {
    const r = await get(url(fileId), as(owner, { range: `bytes=${data.length}-` }));
    expect(r.status).toBe(416);
    expect(r.headers.get("content-range")).toBe(`bytes */${data.length}`);
    expect(errorCode(r)).toBe("RANGE_NOT_SATISFIABLE");
  });

  it("coalesces touching ranges, serves disjoint multi-ranges whole, ignores malformed ones", async () => {
    const merged = await get(url(fileId), as(owner, { range: "bytes=0-9,10-19" }));
    expect(merged.status).toBe(206);
    expect(merged.headers.get("content-range")).toBe(`bytes 0-19/${data.length}`);
    const disjoint = await get(url(fileId), as(owner, { range: "bytes=0-9,100-109" }));
    expect(disjoint.status).toBe(200);
    expect(disjoint.body.equals(data)).toBe(true);
    const bad = await get(url(fileId), as(owner, { range: "bytes=9-1" }));
    expect(bad.status).toBe(200);
    const unit = await get(url(fileId), as(owner, { range: "items=0-1" }));
    expect(unit.status).toBe(200);
  });

  it("applies a Range only while If-Range still matches", async () => {
    const etag = `"${sha256hex(data)}"`;
    const same = await get(url(fileId), as(owner, { range: "bytes=10-19", "if-range": etag }));
    expect(same.status).toBe(206);
    expect(same.body.equals(data.subarray(10, 20))).toBe(true);
    const changed = await get(url(fileId), as(owner, { range: "bytes=10-19", "if-range": `"${"0".repeat(64)}"` }));
    expect(changed.status).toBe(200);
    expect(changed.body.length).toBe(data.length);
    const weak = await get(url(fileId), as(owner, { range: "bytes=10-19", "if-range": `W/${etag}` }));
    expect(weak.status).toBe(200);
    const lastModified = same.headers.get("last-modified")!;
    const byDate = await get(url(fileId), as(owner, { range: "bytes=10-19", "if-range": lastModified }));
    expect(byDate.status).toBe(206);
    const oldDate = await get(url(fileId), as(owner, { range: "bytes=10-19", "if-range": "Mon, 01 Jan 2024 00:00:00 GMT" }));
    expect(oldDate.status).toBe(200);
  });
});

describe("conditional requests and HEAD", () => {
  it("answers 304 for a matching If-None-Match (strong, weak, list or *)", async () => {
    const etag = `"${sha256hex(data)}"`;
    for (const inm of [etag, `W/${etag}`, `"nope", ${etag}`, "*"]) {
      const r = await get(url(fileId), as(owner, { "if-none-match": inm }));
      expect(r.status, inm).toBe(304);
      expect(r.body.length).toBe(0);
      expect(r.headers.get("etag")).toBe(etag);
    }
    expect((await get(url(fileId), as(owner, { "if-none-match": '"other"' }))).status).toBe(200);
  });

  it("honours If-Modified-Since only without If-None-Match", async () => {
    const future = new Date(Date.now() + 86_400_000).toUTCString();
    expect((await get(url(fileId), as(owner, { "if-modified-since": future }))).status).toBe(304);
    expect((await get(url(fileId), as(owner, { "if-modified-since": future, "if-none-match": '"x"' }))).status).toBe(200);
    expect((await get(url(fileId), as(owner, { "if-modified-since": "Mon, 01 Jan 2024 00:00:00 GMT" }))).status).toBe(200);
  });

  it("answers HEAD with the headers a GET would have and no body", async () => {
    const r = await get(url(fileId), { method: "HEAD", ...as(owner) });
    expect(r.status).toBe(200);
    expect(r.headers.get("content-length")).toBe(String(data.length));
    expect(r.headers.get("etag")).toBe(`"${sha256hex(data)}"`);
    expect(r.body.length).toBe(0);
    const ranged = await get(url(fileId), { method: "HEAD", ...as(owner, { range: "bytes=5-9" }) });
    expect(ranged.status).toBe(206);
    expect(ranged.headers.get("content-length")).toBe("5");
    expect(ranged.headers.get("content-range")).toBe(`bytes 5-9/${data.length}`);
  });
});

describe("who may download", () => {
  it("needs credentials (401) and hides other users' and trashed files (404)", async () => {
    const other = await createTestUser();
    users.push(other);
    expect((await get(url(fileId))).status).toBe(401);
    const foreign = await get(url(fileId), as(other));
    expect(foreign.status).toBe(404);
    expect(errorCode(foreign)).toBe("NOT_FOUND");
    expect((await get(url("nope"), as(owner))).status).toBe(404);
    const folder = await owner.caller.file.mkdir({ name: `folder-${Math.random()}` });
    expect((await get(url(folder.id), as(owner))).status).toBe(400);
    const doomed = await putFile(owner, { name: "doomed", data: "bye" });
    await owner.caller.file.delete({ ids: [doomed.id] });
    expect((await get(url(doomed.id), as(owner))).status).toBe(404);
    const badToken = await get(url(fileId), { headers: { authorization: "Bearer forged.token.here" } });
    expect(badToken.status).toBe(401);
  });
});

describe("signed URLs", () => {
  it("download without credentials, ranges included", async () => {
    const { url: signed } = await owner.caller.file.downloadUrl({ id: fileId, expiresIn: 60 });
    const local = new URL(signed);
    const at = `${server.baseUrl}${local.pathname}${local.search}`;
    const r = await get(at);
    expect(r.status).toBe(200);
    expect(r.body.equals(data)).toBe(true);
    const part = await get(at, { headers: { range: "bytes=-10" } });
    expect(part.status).toBe(206);
    expect(part.body.equals(data.subarray(-10))).toBe(true);
    // a bearer token of someone else does not get in the way of the signature
    const other = await createTestUser();
    users.push(other);
    expect((await get(at, { headers: other.authHeaders })).status).toBe(200);
  });

  it("refuses tampered and expired links with 403", async () => {
    const other = await putFile(owner, { name: "other.bin", data: "other content" });
    const { url: signed } = await owner.caller.file.downloadUrl({ id: fileId });
    const u = new URL(signed);
    const sig = u.searchParams.get("signature")!;
    const expires = u.searchParams.get("expires")!;
    const flip = sig.slice(0, -1) + (sig.endsWith("A") ? "B" : "A");
    // The last of 43 base64url characters holds 2 bits no decoder reads: altering only those is
    // still an altered link.
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const lowBit = sig.slice(0, -1) + alphabet[alphabet.indexOf(sig.at(-1)!) ^ 1];
    const tries = [
      `${url(fileId)}?expires=${expires}&signature=${flip}`,
      `${url(fileId)}?expires=${expires}&signature=${lowBit}`,
      `${url(fileId)}?expires=${Number(expires) + 1}&signature=${sig}`,
      `${url(other.id)}?expires=${expires}&signature=${sig}`,
      `${url(fileId)}?expires=${expires}`,
      `${url(fileId)}?signature=${sig}`,
      `${url("no-such-id")}?expires=${expires}&signature=${sig}`,
    ];
    for (const t of tries) {
      const r = await get(t);
      expect(r.status, t).toBe(403);
      expect(errorCode(r)).toBe("FORBIDDEN");
    }
    const past = signedContentUrl({ entryId: fileId, sha256: sha256hex(data) }, 60, new Date(Date.now() - 3_600_000));
    const expired = await get(`${server.baseUrl}${new URL(past.url).pathname}${new URL(past.url).search}`);
    expect(expired.status).toBe(403);
    expect(JSON.parse(expired.body.toString()).error.message).toMatch(/expired/);
  });

  it("stops working once the file is in the trash", async () => {
    const f = await putFile(owner, { name: "temp", data: "temporary" });
    const { url: signed } = await owner.caller.file.downloadUrl({ id: f.id });
    const u = new URL(signed);
    const at = `${server.baseUrl}${u.pathname}${u.search}`;
    expect((await get(at)).status).toBe(200);
    await owner.caller.file.delete({ ids: [f.id] });
    expect((await get(at)).status).toBe(403);
    await expectTrpcError(owner.caller.file.downloadUrl({ id: f.id }), "NOT_FOUND");
  });
});

describe("streaming", () => {
  it("streams a big file, survives clients that go away, and serves ranges deep inside it", async () => {
    const big = bytes(24 * 1024 * 1024, 99);
    const f = await putFile(owner, { name: "big.bin", data: big });
    const status = await abortAfter(url(f.id), owner.authHeaders, 1024 * 1024);
    expect(status).toBe(200);
    const mid = await get(url(f.id), as(owner, { range: "bytes=10000000-10999999" }));
    expect(mid.status).toBe(206);
    expect(mid.body.equals(big.subarray(10_000_000, 11_000_000))).toBe(true);
    const whole = await get(url(f.id), as(owner));
    expect(sha256hex(whole.body)).toBe(sha256hex(big));
  });
});

describe("the Next route file", () => {
  it("serves the same handler through toRouteHandler (GET and HEAD)", async () => {
    const route = await import("~/app/api/files/[id]/content/route");
    const params = Promise.resolve({ id: fileId });
    const res = await route.GET(new Request(`http://localhost/api/files/${fileId}/content`, { headers: { ...owner.authHeaders, range: "bytes=0-9" } }), { params });
    expect(res.status).toBe(206);
    expect(Buffer.from(await res.arrayBuffer()).equals(data.subarray(0, 10))).toBe(true);
    const head = await route.HEAD(new Request(`http://localhost/api/files/${fileId}/content`, { method: "HEAD", headers: owner.authHeaders }), {
      params: Promise.resolve({ id: fileId }),
    });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-length")).toBe(String(data.length));
  });
});
