import { afterAll, beforeAll, describe, expect, it } from "vitest";

// DOWNLOAD_MODE=accel: the drive authorises and sets the headers, nginx sends the local-disk file
// (X-Accel-Redirect to the internal location of deploy/nginx/filestore.conf.template). Run with
// Debian's nginx in front of the raw routes, on the test run's local storage directory.
process.env.DOWNLOAD_MODE = "accel";

const { startHttpServer } = await import("../helpers/http-server");
const { startNginx } = await import("../helpers/nginx");
const { patternBytes, postFiles, sha256hex } = await import("../helpers/upload-client");
const { createTestUser, deleteCreatedTestUsers } = await import("../helpers/users");
const { env } = await import("~/env");

let server: Awaited<ReturnType<typeof startHttpServer>>;
let nginx: Awaited<ReturnType<typeof startNginx>>;
let user: Awaited<ReturnType<typeof createTestUser>>;
const data = patternBytes(3 * 1024 * 1024 + 5, 1301);
let fileId = "";

beforeAll(async () => {
  server = await startHttpServer();
  const upstream = server.baseUrl.replace("http://", "");
  nginx = await startNginx({
    FILESTORE_WEB_1: upstream,
    FILESTORE_WEB_2: upstream,
    STORAGE_LOCAL_DIR: env.STORAGE_LOCAL_DIR,
    DOWNLOAD_ACCEL_PREFIX: env.DOWNLOAD_ACCEL_PREFIX,
  });
  user = await createTestUser();
  const posted = await postFiles(server.baseUrl, user.authHeaders, [{ name: "报告 final.pdf", data, type: "application/pdf" }]);
  expect(posted.status).toBe(201);
  fileId = posted.json.files[0].id;
});

afterAll(async () => {
  await nginx?.stop();
  await server?.close();
  await deleteCreatedTestUsers();
});

async function get(base: string, headers: Record<string, string>) {
  const res = await fetch(`${base}/api/files/${fileId}/content`, { headers });
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}

describe("DOWNLOAD_MODE=accel behind nginx", () => {
  it("nginx sends the bytes with the drive's headers", async () => {
    const got = await get(nginx.baseUrl, user.authHeaders);
    expect(got.status).toBe(200);
    expect(sha256hex(got.body)).toBe(sha256hex(data));
    expect(got.headers.get("etag")).toBe(`"${sha256hex(data)}"`);
    expect(got.headers.get("content-type")).toBe("application/pdf");
    expect(got.headers.get("content-disposition")).toContain("filename*=UTF-8''%E6%8A%A5%E5%91%8A%20final.pdf");
    expect(got.headers.get("x-content-type-options")).toBe("nosniff");
    expect(got.headers.get("cache-control")).toBe("private, no-cache");
    expect(got.headers.get("content-length")).toBe(String(data.length));
    expect(got.headers.get("x-accel-redirect")).toBeNull();
    // nginx served it from the internal location (its log shows the URI after the redirect).
    expect(await nginx.accessLog()).toMatch(new RegExp(` GET ${env.DOWNLOAD_ACCEL_PREFIX}objects/\\S+ 200 `));
    // Last-Modified is the drive's (the entry's date), not the blob file's mtime.
    const direct = await fetch(`${server.baseUrl}/api/files/${fileId}/content`, { method: "HEAD", headers: user.authHeaders });
    expect(got.headers.get("last-modified")).toBe(direct.headers.get("last-modified"));
  });

  it("ranges and If-Range are judged with the drive's validators", async () => {
    const etag = `"${sha256hex(data)}"`;
    const part = await get(nginx.baseUrl, { ...user.authHeaders, range: "bytes=1000-1999" });
    expect(part.status).toBe(206);
    expect(part.headers.get("content-range")).toBe(`bytes 1000-1999/${data.length}`);
    expect(part.body.equals(data.subarray(1000, 2000))).toBe(true);
    const suffix = await get(nginx.baseUrl, { ...user.authHeaders, range: "bytes=-10" });
    expect(suffix.body.equals(data.subarray(data.length - 10))).toBe(true);
    const ifRange = await get(nginx.baseUrl, { ...user.authHeaders, range: "bytes=5-9", "if-range": etag });
    expect(ifRange.status).toBe(206);
    expect(ifRange.body.equals(data.subarray(5, 10))).toBe(true);
    const stale = await get(nginx.baseUrl, { ...user.authHeaders, range: "bytes=5-9", "if-range": '"something-else"' });
    expect(stale.status).toBe(200);
    expect(stale.body.length).toBe(data.length);
    const notModified = await get(nginx.baseUrl, { ...user.authHeaders, "if-none-match": etag });
    expect(notModified.status).toBe(304);
    const unsatisfiable = await get(nginx.baseUrl, { ...user.authHeaders, range: `bytes=${data.length}-` });
    expect(unsatisfiable.status).toBe(416);
  });

  it("the drive still authorises every request, and the internal location is not reachable", async () => {
    expect((await get(nginx.baseUrl, {})).status).toBe(401);
    const other = await createTestUser();
    expect((await get(nginx.baseUrl, other.authHeaders)).status).toBe(404);
    const key = (await import("~/server/db/client")).db;
    const row = await key.$primary().entry.findUnique({ where: { id: fileId }, include: { blob: true } });
    const internal = await fetch(`${nginx.baseUrl}${env.DOWNLOAD_ACCEL_PREFIX}objects/${row!.blob!.storageKey}`);
    expect(internal.status).toBe(404);
  });

  it("without nginx in front the drive streams the file itself", async () => {
    const got = await get(server.baseUrl, { ...user.authHeaders, "x-filestore-accel": "0" });
    expect(got.status).toBe(200);
    expect(got.headers.get("x-accel-redirect")).toBeNull();
    expect(sha256hex(got.body)).toBe(sha256hex(data));
  });

  it("signed URLs and share links go through nginx the same way", async () => {
    const { url } = await user.caller.file.downloadUrl({ id: fileId });
    const signed = await fetch(`${nginx.baseUrl}${new URL(url).pathname}${new URL(url).search}`);
    expect(signed.status).toBe(200);
    expect(sha256hex(Buffer.from(await signed.arrayBuffer()))).toBe(sha256hex(data));
    const share = await user.caller.share.create({ id: fileId, maxDownloads: 1 });
    const first = await fetch(`${nginx.baseUrl}/api/s/${share.token}/content`);
    expect(first.status).toBe(200);
    expect(sha256hex(Buffer.from(await first.arrayBuffer()))).toBe(sha256hex(data));
    expect((await fetch(`${nginx.baseUrl}/api/s/${share.token}/content`)).status).toBe(404);
  });
});
