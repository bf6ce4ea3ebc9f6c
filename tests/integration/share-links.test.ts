import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { db } from "~/server/db/client";
import { expectTrpcError } from "../helpers/drive-expect";
import { bytes, cleanupDriveUsers, putFile, refCountOf, treeProblems, usedBytes } from "../helpers/drive-files";
import { dispositionName, errorCode, get } from "../helpers/drive-http";
import { startHttpServer, type TestHttpServer } from "../helpers/http-server";
import { anonymousCaller, callerFor, createTestUser, type TestUser } from "../helpers/users";

// share.* and GET /api/s/{token}/content: links to files and folders, passwords and their cookie,
// expiry, revocation, download limits (atomic under concurrency), saving into one's drive, and that
// a link never exposes anything outside its own subtree.

let server: TestHttpServer;
const users: TestUser[] = [];
async function user(opts: { quotaBytes?: number } = {}) {
  const u = await createTestUser(opts);
  users.push(u);
  return u;
}
beforeAll(async () => {
  server = await startHttpServer();
});
afterAll(async () => {
  await server.close();
  await cleanupDriveUsers(users);
});

const contentUrl = (token: string, id?: string) =>
  `${server.baseUrl}/api/s/${token}/content${id ? `?id=${encodeURIComponent(id)}` : ""}`;

/** A public caller that keeps cookies like a browser would (only the Set-Cookie name=value pairs). */
function browser() {
  const jar = new Map<string, string>();
  const cookieHeader = () => [...jar].map(([k, v]) => `${k}=${v}`).join("; ");
  const remember = (setCookie: string | null) => {
    for (const c of (setCookie ?? "").split(/,(?=\s*fs_)/)) {
      const m = /^\s*([^=;]+)=([^;]*)/.exec(c);
      if (m) jar.set(m[1]!, m[2]!);
    }
  };
  return {
    jar,
    async open(input: Parameters<TestUser["caller"]["share"]["open"]>[0]) {
      const resHeaders = new Headers();
      const caller = await callerFor(jar.size ? { cookie: cookieHeader() } : {}, resHeaders);
      const result = await caller.share.open(input);
      remember(resHeaders.get("set-cookie"));
      return { result, setCookie: resHeaders.get("set-cookie") };
    },
    async get(u: string, headers: Record<string, string> = {}, method = "GET") {
      const r = await get(u, { method, headers: { ...(jar.size ? { cookie: cookieHeader() } : {}), ...headers } });
      remember(r.headers.get("set-cookie"));
      return r;
    },
  };
}

describe("share.create, share.list, share.revoke", () => {
  it("creates unguessable links, lists them with their state, and revokes them", async () => {
    const a = await user();
    const f = await putFile(a, { name: "paper.pdf", data: "paper" });
    const d = await a.caller.file.mkdir({ name: "album" });
    const s1 = await a.caller.share.create({ id: f.id });
    expect(s1.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(s1.url).toBe(`/s/${s1.token}`);
    const expiresAt = new Date(Date.now() + 86_400_000);
    const s2 = await a.caller.share.create({ id: d.id, password: "open sesame", expiresAt, maxDownloads: 3 });
    expect(s2.token).not.toBe(s1.token);

    const list = await a.caller.share.list();
    expect(list.map((s) => s.token)).toEqual([s2.token, s1.token]);
    expect(list[0]).toMatchObject({
      entryId: d.id,
      entryName: "album",
      kind: "folder",
      hasPassword: true,
      maxDownloads: 3,
      downloadCount: 0,
      expiresAt,
      state: "active",
      url: s2.url,
    });
    expect(list[1]).toMatchObject({ entryName: "paper.pdf", hasPassword: false, maxDownloads: null, expiresAt: null });
    const row = await db.share.findUniqueOrThrow({ where: { token: s2.token } });
    expect(row.passwordHash).toMatch(/^\$argon2id\$/);

    await a.caller.share.revoke({ token: s1.token });
    expect((await a.caller.share.list()).map((s) => s.token)).toEqual([s2.token]);
    const anon = await anonymousCaller();
    await expectTrpcError(anon.share.open({ token: s1.token }), "NOT_FOUND");
    expect((await get(contentUrl(s1.token))).status).toBe(404);
    await expectTrpcError(a.caller.share.revoke({ token: s1.token }), "NOT_FOUND");
  });

  it("validates input and ownership", async () => {
    const a = await user();
    const b = await user();
    const f = await putFile(a, { name: "f", data: "f" });
    await expectTrpcError(b.caller.share.create({ id: f.id }), "NOT_FOUND");
    await expectTrpcError(a.caller.share.create({ id: f.id, expiresAt: new Date(Date.now() - 1000) }), "BAD_REQUEST");
    await expectTrpcError(a.caller.share.create({ id: f.id, maxDownloads: 0 }), "BAD_REQUEST");
    const { token } = await a.caller.share.create({ id: f.id });
    await expectTrpcError(b.caller.share.revoke({ token }), "NOT_FOUND");
    expect(await b.caller.share.list()).toEqual([]);
    await expectTrpcError((await anonymousCaller()).share.create({ id: f.id }), "UNAUTHORIZED");
  });
});

describe("share.open and downloads of a file link", () => {
  it("shows the file to anyone and serves its bytes with ranges and disposition", async () => {
    const a = await user();
    const data = bytes(50_000, 3);
    const f = await putFile(a, { name: "Ünïcode report.pdf", data, mime: "application/pdf" });
    const { token } = await a.caller.share.create({ id: f.id });
    const { result } = await browser().open({ token });
    expect(result.share).toMatchObject({ token, name: "Ünïcode report.pdf", kind: "file", sharedBy: a.username, hasPassword: false });
    expect(result.entry).toMatchObject({ id: f.id, name: "Ünïcode report.pdf", kind: "file", size: 50_000, mime: "application/pdf" });
    expect(result.items).toBeNull();
    expect(result.entry).not.toHaveProperty("parentId");
    expect(result.entry).not.toHaveProperty("sha256");

    const whole = await get(contentUrl(token));
    expect(whole.status).toBe(200);
    expect(whole.body.equals(data)).toBe(true);
    expect(dispositionName(whole.headers.get("content-disposition"))).toBe("Ünïcode report.pdf");
    expect(whole.headers.get("content-type")).toBe("application/pdf");
    const part = await get(contentUrl(token), { headers: { range: "bytes=100-199" } });
    expect(part.status).toBe(206);
    expect(part.body.equals(data.subarray(100, 200))).toBe(true);
    const etag = whole.headers.get("etag")!;
    expect((await get(contentUrl(token), { headers: { "if-none-match": etag } })).status).toBe(304);
    expect((await get(contentUrl(token), { headers: { range: "bytes=60000-" } })).status).toBe(416);
    const head = await get(contentUrl(token), { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-length")).toBe("50000");
    // downloads so far: the GET without Range and the ranged GET from byte 100 do not count the same
    const [listed] = await a.caller.share.list();
    expect(listed!.downloadCount).toBe(1);
  });

  it("goes dark while its entry is in the trash and comes back on restore", async () => {
    const a = await user();
    const d = await a.caller.file.mkdir({ name: "d" });
    const f = await putFile(a, { name: "f.txt", data: "inside", parentId: d.id });
    const { token } = await a.caller.share.create({ id: f.id });
    await a.caller.file.delete({ ids: [d.id] });
    await expectTrpcError((await anonymousCaller()).share.open({ token }), "NOT_FOUND");
    expect((await get(contentUrl(token))).status).toBe(404);
    expect((await a.caller.share.list())[0]!.state).toBe("in-trash");
    await a.caller.trash.restore({ ids: [d.id] });
    expect((await get(contentUrl(token))).status).toBe(200);
  });

  it("expires", async () => {
    const a = await user();
    const f = await putFile(a, { name: "f", data: "soon gone" });
    const { token } = await a.caller.share.create({ id: f.id, expiresAt: new Date(Date.now() + 60_000) });
    expect((await get(contentUrl(token))).status).toBe(200);
    await db.share.update({ where: { token }, data: { expiresAt: new Date(Date.now() - 1000) } });
    await expectTrpcError((await anonymousCaller()).share.open({ token }), "NOT_FOUND");
    expect((await get(contentUrl(token))).status).toBe(404);
    expect((await a.caller.share.list())[0]!.state).toBe("expired");
  });

  it("answers NOT_FOUND for made-up tokens", async () => {
    const anon = await anonymousCaller();
    await expectTrpcError(anon.share.open({ token: "A".repeat(43) }), "NOT_FOUND");
    await expectTrpcError(anon.share.open({ token: "../../etc" }), "NOT_FOUND");
    expect((await get(contentUrl("A".repeat(43)))).status).toBe(404);
  });
});

describe("passwords", () => {
  it("needs the password, then a cookie that unlocks browsing and downloads", async () => {
    const a = await user();
    const d = await a.caller.file.mkdir({ name: "secret album" });
    const photo = await putFile(a, { name: "p.jpg", data: bytes(1000, 5), parentId: d.id, mime: "image/jpeg" });
    const { token } = await a.caller.share.create({ id: d.id, password: "correct horse" });

    const b = browser();
    await expectTrpcError(b.open({ token }), "FORBIDDEN");
    await expectTrpcError(b.open({ token, password: "wrong" }), "FORBIDDEN");
    expect((await b.get(contentUrl(token, photo.id))).status).toBe(403);

    const { result, setCookie } = await b.open({ token, password: "correct horse" });
    expect(result.items!.map((i) => i.name)).toEqual(["p.jpg"]);
    expect(setCookie).toMatch(/^fs_share_[a-z0-9]+=\d+\.[A-Za-z0-9_-]{43}; Path=\/; Max-Age=3600; HttpOnly; SameSite=Lax$/);
    // the cookie now stands in for the password
    expect((await b.open({ token })).result.items).toHaveLength(1);
    const dl = await b.get(contentUrl(token, photo.id));
    expect(dl.status).toBe(200);
    expect(dl.body.equals(bytes(1000, 5))).toBe(true);

    // a forged cookie does not
    const forged = [...b.jar.keys()][0]!;
    const stranger = await get(contentUrl(token, photo.id), { headers: { cookie: `${forged}=9999999999.${"A".repeat(43)}` } });
    expect(stranger.status).toBe(403);
    expect(errorCode(stranger)).toBe("FORBIDDEN");
    // nor does the cookie of another share
    const other = await a.caller.share.create({ id: d.id, password: "another" });
    expect((await b.get(contentUrl(other.token, photo.id))).status).toBe(403);
  });

  it("throttles guessing", async () => {
    const a = await user();
    const f = await putFile(a, { name: "f", data: "guarded" });
    const { token } = await a.caller.share.create({ id: f.id, password: "right one" });
    const anon = await anonymousCaller();
    for (let i = 0; i < 20; i++) await expectTrpcError(anon.share.open({ token, password: `guess ${i}` }), "FORBIDDEN");
    await expectTrpcError(anon.share.open({ token, password: "right one" }), "TOO_MANY_REQUESTS");
  });
});

describe("folder links", () => {
  async function tree() {
    const a = await user();
    const outside = await a.caller.file.mkdir({ name: "outside" });
    const secret = await putFile(a, { name: "secret.txt", data: "not shared", parentId: outside.id });
    const shared = await a.caller.file.mkdir({ name: "shared", parentId: outside.id });
    const sub = await a.caller.file.mkdir({ name: "sub", parentId: shared.id });
    const top = await putFile(a, { name: "top.txt", data: "top", parentId: shared.id });
    const deep = await putFile(a, { name: "deep.txt", data: "deep", parentId: sub.id });
    const { token } = await a.caller.share.create({ id: shared.id });
    return { a, outside, secret, shared, sub, top, deep, token };
  }

  it("lists the folder and browses inside it with breadcrumbs from the shared folder", async () => {
    const t = await tree();
    const b = browser();
    const root = (await b.open({ token: t.token })).result;
    expect(root.share.kind).toBe("folder");
    expect(root.items!.map((i) => i.name)).toEqual(["sub", "top.txt"]);
    expect(root.path.map((p) => p.name)).toEqual(["shared"]);
    const inside = (await b.open({ token: t.token, parentId: t.sub.id })).result;
    expect(inside.entry.name).toBe("sub");
    expect(inside.path.map((p) => p.name)).toEqual(["shared", "sub"]);
    expect(inside.items!.map((i) => i.name)).toEqual(["deep.txt"]);

    const deep = await b.get(contentUrl(t.token, t.deep.id));
    expect(deep.status).toBe(200);
    expect(deep.body.toString()).toBe("deep");
  });

  it("never reaches outside its subtree", async () => {
    const t = await tree();
    const stranger = await user();
    const strangers = await putFile(stranger, { name: "theirs", data: "theirs" });
    const anon = await anonymousCaller();
    for (const id of [t.outside.id, t.secret.id, strangers.id, "..", "../..", "no-such-id"]) {
      await expectTrpcError(anon.share.open({ token: t.token, parentId: id }), "NOT_FOUND");
      expect((await get(contentUrl(t.token, id))).status, id).toBe(404);
    }
    // a folder is no download, and a folder link needs ?id=
    expect((await get(contentUrl(t.token, t.sub.id))).status).toBe(400);
    expect((await get(contentUrl(t.token))).status).toBe(400);
    // moved out of the shared folder: out of reach; trashed inside it: out of reach
    await t.a.caller.file.move({ ids: [t.top.id], parentId: t.outside.id });
    expect((await get(contentUrl(t.token, t.top.id))).status).toBe(404);
    await t.a.caller.file.delete({ ids: [t.sub.id] });
    await expectTrpcError(anon.share.open({ token: t.token, parentId: t.sub.id }), "NOT_FOUND");
    expect((await get(contentUrl(t.token, t.deep.id))).status).toBe(404);
  });

  it("pages big folders with cursors", async () => {
    const a = await user();
    const d = await a.caller.file.mkdir({ name: "many" });
    for (let i = 0; i < 7; i++) await a.caller.file.mkdir({ name: `f${i}`, parentId: d.id });
    const { token } = await a.caller.share.create({ id: d.id });
    const anon = await anonymousCaller();
    const p1 = await anon.share.open({ token, limit: 4 });
    const p2 = await anon.share.open({ token, limit: 4, cursor: p1.nextCursor });
    expect([...p1.items!, ...p2.items!].map((i) => i.name)).toEqual(["f0", "f1", "f2", "f3", "f4", "f5", "f6"]);
    expect(p2.nextCursor).toBeNull();
  });
});

describe("download limits", () => {
  it("counts GETs from byte 0, not HEAD, 304 or later ranges; a used-up link is gone", async () => {
    const a = await user();
    const data = bytes(10_000, 9);
    const f = await putFile(a, { name: "twice", data });
    const { token } = await a.caller.share.create({ id: f.id, maxDownloads: 2 });
    const count = async () => (await db.share.findUniqueOrThrow({ where: { token } })).downloadCount;

    expect((await get(contentUrl(token), { method: "HEAD" })).status).toBe(200);
    expect((await get(contentUrl(token), { headers: { range: "bytes=5000-" } })).status).toBe(206);
    expect(await count()).toBe(0);
    expect((await get(contentUrl(token), { headers: { range: "bytes=0-99" } })).status).toBe(206);
    expect(await count()).toBe(1);
    const etag = `"${f.sha256}"`;
    expect((await get(contentUrl(token), { headers: { "if-none-match": etag } })).status).toBe(304);
    expect(await count()).toBe(1);
    expect((await get(contentUrl(token))).status).toBe(200);
    expect(await count()).toBe(2);

    const third = await get(contentUrl(token));
    expect(third.status).toBe(404);
    expect(await count()).toBe(2);
    expect((await get(contentUrl(token), { method: "HEAD" })).status).toBe(404);
    expect((await get(contentUrl(token), { headers: { range: "bytes=5000-" } })).status).toBe(404);
    await expectTrpcError((await anonymousCaller()).share.open({ token }), "NOT_FOUND");
    expect((await a.caller.share.list())[0]).toMatchObject({ downloadCount: 2, maxDownloads: 2, state: "used-up" });
  });

  it("lets the browser that used the last download resume it, and nobody else", async () => {
    const a = await user();
    const data = bytes(100_000, 11);
    const f = await putFile(a, { name: "once", data });
    const { token } = await a.caller.share.create({ id: f.id, maxDownloads: 1 });
    const b = browser();
    const first = await b.get(contentUrl(token));
    expect(first.status).toBe(200);
    expect(first.headers.get("set-cookie")).toMatch(new RegExp(`Path=/api/s/${token}/; Max-Age=86400; HttpOnly; SameSite=Lax`));
    const resumed = await b.get(contentUrl(token), { range: "bytes=60000-" });
    expect(resumed.status).toBe(206);
    expect(resumed.body.equals(data.subarray(60_000))).toBe(true);
    // a fresh download from byte 0 is a new download: refused
    expect((await b.get(contentUrl(token))).status).toBe(404);
    expect((await get(contentUrl(token), { headers: { range: "bytes=60000-" } })).status).toBe(404);
  });

  it("allows exactly one of many concurrent downloads of a one-download link", async () => {
    for (let round = 0; round < 3; round++) {
      const a = await user();
      const f = await putFile(a, { name: "race", data: bytes(30_000, 20 + round) });
      const { token } = await a.caller.share.create({ id: f.id, maxDownloads: 1 });
      const results = await Promise.all(Array.from({ length: 6 }, () => get(contentUrl(token))));
      const statuses = results.map((r) => r.status).sort();
      expect(statuses).toEqual([200, 404, 404, 404, 404, 404]);
      expect((await db.share.findUniqueOrThrow({ where: { token } })).downloadCount).toBe(1);
    }
  });
});

describe("share.save", () => {
  it("copies a shared folder into the caller's drive without moving bytes", async () => {
    const a = await user();
    const b = await user();
    const d = await a.caller.file.mkdir({ name: "project" });
    const inner = await a.caller.file.mkdir({ name: "inner", parentId: d.id });
    const f1 = await putFile(a, { name: "one.bin", data: bytes(1000, 61), parentId: d.id });
    await putFile(a, { name: "two.bin", data: bytes(2000, 62), parentId: inner.id });
    const { token } = await a.caller.share.create({ id: d.id, password: "pw for b" });
    const target = await b.caller.file.mkdir({ name: "saved" });

    await expectTrpcError(b.caller.share.save({ token, parentId: target.id }), "FORBIDDEN");
    const saved = await b.caller.share.save({ token, password: "pw for b", parentId: target.id });
    expect(saved).toMatchObject({ name: "project", kind: "folder", parentId: target.id });
    const top = (await b.caller.file.list({ parentId: saved.id })).items;
    expect(top.map((i) => i.name)).toEqual(["inner", "one.bin"]);
    expect(top[1]!.sha256).toBe(f1.sha256);
    expect((await b.caller.file.list({ parentId: top[0]!.id })).items.map((i) => i.name)).toEqual(["two.bin"]);
    expect(await refCountOf(f1.sha256!)).toBe(2);
    expect(await usedBytes(b)).toBe(3000);
    expect(await usedBytes(a)).toBe(3000);
    expect(await treeProblems(b.actor.userId)).toEqual([]);
    // saving again gets a suffix; a save is a download
    const again = await b.caller.share.save({ token, password: "pw for b", parentId: target.id });
    expect(again.name).toBe("project (1)");
    expect((await a.caller.share.list())[0]!.downloadCount).toBe(2);
  });

  it("respects limits, quota and ownership of the target folder", async () => {
    const a = await user();
    const small = await user({ quotaBytes: 100 });
    const f = await putFile(a, { name: "big", data: bytes(500, 70) });
    const { token } = await a.caller.share.create({ id: f.id, maxDownloads: 1 });
    await expectTrpcError(small.caller.share.save({ token }), "PAYLOAD_TOO_LARGE");
    expect((await db.share.findUniqueOrThrow({ where: { token } })).downloadCount).toBe(0); // rolled back
    const b = await user();
    const foreign = await a.caller.file.mkdir({ name: "a's folder" });
    await expectTrpcError(b.caller.share.save({ token, parentId: foreign.id }), "NOT_FOUND");
    await b.caller.share.save({ token });
    await expectTrpcError(b.caller.share.save({ token }), "NOT_FOUND"); // used up
    await expectTrpcError((await anonymousCaller()).share.save({ token }), "UNAUTHORIZED");
  });
});
