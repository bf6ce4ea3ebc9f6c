import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useCephS3 } from "../helpers/use-ceph-s3";

// Statelessness, proved (issue 12): two web instances (src/server/main.ts, separate processes and
// ports) behind a real nginx running deploy/nginx/filestore.conf.template, with Ceph RGW as storage.
// Which instance served what is read from nginx's access log ($upstream_addr per $request_id) and
// from each instance's own JSON log (the same request id, carried by X-Request-Id).
//
// The per-process optimisations are exercised for their fallbacks on the way: chunks and tus
// PATCHes spread over two processes mean neither holds the running SHA-256 of the whole upload, so
// completion hashes the assembled object, and the tests check the digest.
useCephS3("test-scaleout");

const { patternBytes, sha256hex } = await import("../helpers/upload-client");
const { createTestUser, deleteCreatedTestUsers } = await import("../helpers/users");
const { startNginx } = await import("../helpers/nginx");
const { startWebInstance, trpcAt, until } = await import("../helpers/web-instances");
const { freePort } = await import("../helpers/browser");

type Instance = Awaited<ReturnType<typeof startWebInstance>>;
type Nginx = Awaited<ReturnType<typeof startNginx>>;

const MiB = 1024 * 1024;
const CHUNK = 5 * MiB; // RGW's smallest multipart part

let a: Instance;
let b: Instance;
let nginx: Nginx;
let user: Awaited<ReturnType<typeof createTestUser>>;

function auth(): Record<string, string> {
  return { authorization: `Bearer ${user.accessToken}` };
}

async function put(baseUrl: string, path: string, body: Buffer, headers: Record<string, string> = {}) {
  const res = await fetch(`${baseUrl}${path}`, {
    method: "PUT",
    headers: { "content-type": "application/octet-stream", ...auth(), ...headers },
    body: new Uint8Array(body),
  });
  return { status: res.status, headers: res.headers, json: await res.json().catch(() => null) };
}

/** The nginx access-log lines as { id, method, uri, status, upstream }. */
async function nginxLines() {
  return (await nginx.accessLog())
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((l) => {
      // $upstream_addr comes last and may hold spaces ("A, B" after a failed attempt).
      const [id, method, uri, status, ...upstream] = l.split(" ");
      return { id: id!, method: method!, uri: uri!, status: Number(status), upstream: upstream.join(" ") };
    });
}

/**
 * Which instance served each request id. nginx writes a request's log line after its response has
 * gone out, so a line may lag the answer the test already holds: wait (bounded) until all are there.
 */
async function servedBy(ids: string[]): Promise<Array<"a" | "b" | "?">> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const lines = await nginxLines();
    const found = ids.map((id) => lines.find((l) => l.id === id));
    if (found.every(Boolean) || Date.now() > deadline) return found.map((l) => instanceOf(l?.upstream ?? ""));
    await new Promise((r) => setTimeout(r, 50));
  }
}

function instanceOf(upstream: string): "a" | "b" | "?" {
  // After a failed attempt nginx lists every upstream it tried ("A, B"): the last one answered.
  const last = upstream.split(",").pop()!.trim();
  if (last === `127.0.0.1:${a.port}`) return "a";
  if (last === `127.0.0.1:${b.port}`) return "b";
  return "?";
}

/** A chunk PUT through nginx that follows 409/429 + Retry-After (bounded). */
async function putChunkFollowingRetryAfter(uploadId: string, index: number, body: Buffer, budgetMs = 90_000) {
  const deadline = Date.now() + budgetMs;
  for (;;) {
    const r = await put(nginx.baseUrl, `/api/uploads/${uploadId}/chunks/${index}`, body);
    if (r.status === 200) return r;
    const retryAfter = Number(r.headers.get("retry-after"));
    if (!(r.status === 409 || r.status === 429) || !retryAfter || Date.now() + retryAfter * 1000 > deadline) {
      throw new Error(`chunk ${index}: ${r.status} ${JSON.stringify(r.json)}`);
    }
    await new Promise((res) => setTimeout(res, retryAfter * 1000));
  }
}

async function download(baseUrl: string, path: string, headers: Record<string, string> = auth()) {
  const res = await fetch(`${baseUrl}${path}`, { headers, redirect: "manual" });
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}

beforeAll(async () => {
  const nginxPort = await freePort();
  const publicUrl = `http://127.0.0.1:${nginxPort}`;
  const env = { NEXTAUTH_URL: publicUrl, TRUST_PROXY: "true", SHUTDOWN_DRAIN_SECONDS: "0" };
  [a, b] = await Promise.all([startWebInstance("a", env), startWebInstance("b", env)]);
  nginx = await startNginx(
    {
      FILESTORE_WEB_1: `127.0.0.1:${a.port}`,
      FILESTORE_WEB_2: `127.0.0.1:${b.port}`,
      STORAGE_LOCAL_DIR: process.env.STORAGE_LOCAL_DIR!,
      DOWNLOAD_ACCEL_PREFIX: "/_filestore_local/",
    },
    nginxPort,
  );
  user = await createTestUser({ quotaBytes: 1024 * MiB });
}, 240_000);

afterAll(async () => {
  await nginx?.stop();
  await Promise.all([a?.process.stop("SIGKILL"), b?.process.stop("SIGKILL")]);
  await deleteCreatedTestUsers();
});

describe("two web instances behind nginx", () => {
  it("a sign-in on one instance is valid on the other (bearer tokens, refresh, browser session cookie)", async () => {
    const signedIn = await trpcAt(a.baseUrl).auth.signin.mutate({ username: user.username, password: user.password });
    expect((await trpcAt(b.baseUrl, { authorization: `Bearer ${signedIn.accessToken}` }).user.me.query()).id).toBe(user.actor.userId);
    // The refresh token issued by A rotates on B, and the reuse rule holds across them.
    const refreshed = await trpcAt(b.baseUrl).auth.refresh.mutate({ refreshToken: signedIn.refreshToken });
    expect((await trpcAt(a.baseUrl, { authorization: `Bearer ${refreshed.accessToken}` }).user.me.query()).username).toBe(user.username);
    await expect(trpcAt(a.baseUrl).auth.refresh.mutate({ refreshToken: signedIn.refreshToken })).rejects.toThrow();
    await expect(trpcAt(b.baseUrl, { authorization: `Bearer ${refreshed.accessToken}` }).user.me.query()).rejects.toThrow(/sign in|UNAUTHORIZED/i);

    // The browser's next-auth session cookie, signed in on A, opens B's pages and procedures.
    const csrf = await fetch(`${a.baseUrl}/api/auth/csrf`);
    const { csrfToken } = (await csrf.json()) as { csrfToken: string };
    const csrfCookie = csrf.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ");
    const signin = await fetch(`${a.baseUrl}/api/auth/callback/credentials`, {
      method: "POST",
      redirect: "manual",
      headers: { "content-type": "application/x-www-form-urlencoded", cookie: csrfCookie },
      body: new URLSearchParams({ csrfToken, username: user.username, password: user.password, json: "true" }),
    });
    const session = signin.headers.getSetCookie().find((c) => /session-token=/.test(c));
    expect(session, "next-auth set a session cookie").toBeTruthy();
    const cookie = session!.split(";")[0]!;
    expect((await trpcAt(b.baseUrl, { cookie }).user.me.query()).id).toBe(user.actor.userId);
    const page = await fetch(`${b.baseUrl}/`, { headers: { cookie }, redirect: "manual" });
    expect(page.status).toBe(200);
  });

  it("the chunks of one upload alternate between the instances and complete lands on either", async () => {
    const data = patternBytes(4 * CHUNK + 123_457, 1201);
    const sha256 = sha256hex(data);
    const drive = trpcAt(nginx.baseUrl, auth());
    const opened = await drive.upload.init.mutate({ name: "spread.bin", size: data.length, chunkSize: CHUNK });
    if (!("chunkCount" in opened)) throw new Error("expected a chunked session");
    const ids: string[] = [];
    for (let i = 0; i < opened.chunkCount; i++) {
      const r = await put(nginx.baseUrl, `/api/uploads/${opened.uploadId}/chunks/${i}`, data.subarray(i * CHUNK, (i + 1) * CHUNK));
      expect(r.status, JSON.stringify(r.json)).toBe(200);
      ids.push(r.headers.get("x-request-id")!);
    }
    const instances = await servedBy(ids);
    expect(new Set(instances)).toEqual(new Set(["a", "b"]));
    // nginx's request id reached the instance that served it, in its own log.
    for (const [i, id] of ids.entries()) {
      const served = instances[i] === "a" ? a : b;
      expect(served.records().some((r) => r.requestId === id && r.route === "/api/uploads/:uploadId/chunks/:index")).toBe(true);
    }
    // complete on A directly; the other instance serves the result.
    const { file } = await trpcAt(a.baseUrl, auth()).upload.complete.mutate({ uploadId: opened.uploadId });
    expect(file.sha256).toBe(sha256);
    const got = await download(b.baseUrl, `/api/files/${file.id}/content`);
    expect(got.status).toBe(200);
    expect(sha256hex(got.body)).toBe(sha256);

    // A second upload, chunks sent in parallel through nginx, completed on B.
    const data2 = patternBytes(3 * CHUNK + 99, 1202);
    const second = await drive.upload.init.mutate({ name: "parallel.bin", size: data2.length, chunkSize: CHUNK });
    if (!("chunkCount" in second)) throw new Error("expected a chunked session");
    const replies = await Promise.all(
      Array.from({ length: second.chunkCount }, (_, i) =>
        put(nginx.baseUrl, `/api/uploads/${second.uploadId}/chunks/${i}`, data2.subarray(i * CHUNK, (i + 1) * CHUNK)),
      ),
    );
    expect(replies.map((r) => r.status)).toEqual(replies.map(() => 200));
    const done = await trpcAt(b.baseUrl, auth()).upload.complete.mutate({ uploadId: second.uploadId });
    expect(done.file.sha256).toBe(sha256hex(data2));
    expect(sha256hex((await download(a.baseUrl, `/api/files/${done.file.id}/content`)).body)).toBe(sha256hex(data2));
  });

  it("the tus PATCHes of one upload hit both instances and the upload finishes", async () => {
    const data = patternBytes(3 * 8 * MiB + 4321, 1203);
    const created = await fetch(`${nginx.baseUrl}/api/tus`, {
      method: "POST",
      headers: {
        ...auth(),
        "tus-resumable": "1.0.0",
        "upload-length": String(data.length),
        "upload-metadata": `filename ${Buffer.from("tus-spread.bin").toString("base64")}`,
      },
    });
    expect(created.status).toBe(201);
    const location = new URL(created.headers.get("location")!, nginx.baseUrl).pathname;
    const step = 6 * MiB; // not a multiple of tus's 8 MiB parts: tails are handed over between instances
    const ids: string[] = [];
    for (let offset = 0; offset < data.length; offset += step) {
      const body = data.subarray(offset, offset + step);
      const res = await fetch(`${nginx.baseUrl}${location}`, {
        method: "PATCH",
        headers: { ...auth(), "tus-resumable": "1.0.0", "upload-offset": String(offset), "content-type": "application/offset+octet-stream" },
        body: new Uint8Array(body),
      });
      expect(res.status, await res.clone().text()).toBe(204);
      expect(Number(res.headers.get("upload-offset"))).toBe(offset + body.length);
      ids.push(res.headers.get("x-request-id")!);
    }
    expect(new Set(await servedBy(ids))).toEqual(new Set(["a", "b"]));
    const { items } = await trpcAt(b.baseUrl, auth()).file.list.query({});
    const file = items.find((e) => e.name === "tus-spread.bin");
    expect(file?.sha256).toBe(sha256hex(data));
  });

  it("downloads, signed URLs and share pages work through either instance and through nginx", async () => {
    const data = patternBytes(2 * MiB + 17, 1204);
    const form = new FormData();
    form.append("file", new Blob([new Uint8Array(data)]), "shared 共享.bin");
    const posted = await fetch(`${a.baseUrl}/api/files`, { method: "POST", headers: auth(), body: form });
    expect(posted.status).toBe(201);
    const [file] = ((await posted.json()) as { files: Array<{ id: string }> }).files;

    for (const base of [a.baseUrl, b.baseUrl, nginx.baseUrl]) {
      const whole = await download(base, `/api/files/${file!.id}/content`);
      expect(whole.status).toBe(200);
      expect(sha256hex(whole.body)).toBe(sha256hex(data));
      const part = await download(base, `/api/files/${file!.id}/content`, { ...auth(), range: "bytes=100-199" });
      expect(part.status).toBe(206);
      expect(part.body.equals(data.subarray(100, 200))).toBe(true);
    }
    // A signed URL made by B works on A and through nginx, without credentials.
    const { url } = await trpcAt(b.baseUrl, auth()).file.downloadUrl.query({ id: file!.id });
    const signedPath = new URL(url).pathname + new URL(url).search;
    for (const base of [a.baseUrl, nginx.baseUrl]) {
      const got = await download(base, signedPath, {});
      expect(got.status).toBe(200);
      expect(sha256hex(got.body)).toBe(sha256hex(data));
    }
    // A password share created on A: opened on B (the unlock cookie is signed, not stored), the page
    // renders on both, the bytes come through nginx.
    const share = await trpcAt(a.baseUrl, auth()).share.create.mutate({ id: file!.id, password: "open sesame" });
    const openRes = await fetch(`${b.baseUrl}/api/trpc/share.open`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ json: { token: share.token, password: "open sesame" } }),
    });
    expect(openRes.status).toBe(200);
    const unlock = openRes.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ");
    expect(unlock).not.toBe("");
    for (const base of [a.baseUrl, b.baseUrl]) {
      // The page is rendered by the server and then asks share.open (above) for the entry.
      const page = await fetch(`${base}/s/${share.token}`, { headers: { cookie: unlock } });
      expect(page.status).toBe(200);
      expect(await page.text()).toContain(share.token);
    }
    const viaNginx = await download(nginx.baseUrl, `/api/s/${share.token}/content`, { cookie: unlock });
    expect(viaNginx.status).toBe(200);
    expect(sha256hex(viaNginx.body)).toBe(sha256hex(data));
    const locked = await download(a.baseUrl, `/api/s/${share.token}/content`, {});
    expect(locked.status).toBe(403);
  });

  it("kill -9 of one instance mid-upload costs only the chunk in flight", async () => {
    const data = patternBytes(5 * CHUNK, 1205);
    const drive = trpcAt(nginx.baseUrl, auth());
    const opened = await drive.upload.init.mutate({ name: "survivor.bin", size: data.length, chunkSize: CHUNK });
    if (!("chunkCount" in opened)) throw new Error("expected a chunked session");
    const path = (i: number) => `/api/uploads/${opened.uploadId}/chunks/${i}`;
    for (const i of [0, 1]) expect((await put(nginx.baseUrl, path(i), data.subarray(i * CHUNK, (i + 1) * CHUNK))).status).toBe(200);

    // Chunk 2 goes through nginx slowly: half its bytes, then the client waits.
    const slow = http.request(`${nginx.baseUrl}${path(2)}`, {
      method: "PUT",
      headers: { ...auth(), "content-type": "application/octet-stream", "content-length": String(CHUNK) },
    });
    const slowResult = new Promise<number>((resolve) => {
      slow.on("response", (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      slow.on("error", () => resolve(0));
    });
    slow.write(data.subarray(2 * CHUNK, 2 * CHUNK + CHUNK / 2));
    // Which instance is streaming it: the one whose /api/metrics shows a chunk upload in flight.
    let victim: Instance | undefined;
    await until("a chunk upload in flight", async () => {
      for (const candidate of [a, b]) {
        const text = await (await fetch(`${candidate.baseUrl}/api/metrics`)).text();
        if (/filestore_uploads_in_flight\{kind="chunk"\} 1/.test(text)) victim = candidate;
      }
      return victim !== undefined;
    });
    const survivor = victim === a ? b : a;
    const linesBeforeKill = (await nginxLines()).length;
    expect(await victim!.process.stop("SIGKILL")).toBe(null);
    slow.end();
    // nginx answers the cut request with 502: that chunk, and only that chunk, is lost.
    expect(await slowResult).toBe(502);

    const status = await drive.upload.status.query({ uploadId: opened.uploadId });
    expect(status.received).toEqual([0, 1]);
    // The client resends it (the dead writer's claim is taken over at once: its writer lock died with it;
    // Retry-After is still followed should a 409 come) and
    // carries on; nginx sends everything to the survivor.
    await putChunkFollowingRetryAfter(opened.uploadId, 2, data.subarray(2 * CHUNK, 3 * CHUNK));
    for (const i of [3, 4]) expect((await put(nginx.baseUrl, path(i), data.subarray(i * CHUNK, (i + 1) * CHUNK))).status).toBe(200);
    const { file } = await drive.upload.complete.mutate({ uploadId: opened.uploadId });
    expect(file.sha256).toBe(sha256hex(data));
    expect(sha256hex((await download(nginx.baseUrl, `/api/files/${file.id}/content`)).body)).toBe(sha256hex(data));
    const afterKill = async () => (await nginxLines()).slice(linesBeforeKill).filter((l) => l.uri.includes(opened.uploadId) && l.status === 200);
    await until("nginx logged the three chunks sent after the kill", async () => (await afterKill()).length >= 3, 10_000).catch(() => undefined);
    const after = await afterKill();
    expect(after.length).toBe(3);
    expect(after.every((l) => instanceOf(l.upstream) === (survivor === a ? "a" : "b"))).toBe(true);

    // The killed instance comes back on its port and nginx uses it again.
    await victim!.restart();
    await until("nginx sends requests to the restarted instance", async () => {
      const r = await fetch(`${nginx.baseUrl}/api/health/live`);
      const id = r.headers.get("x-request-id");
      await new Promise((res) => setTimeout(res, 50));
      const line = (await nginxLines()).find((l) => l.id === id);
      return line !== undefined && instanceOf(line.upstream) === (victim === a ? "a" : "b");
    }, 30_000);
  });
});
