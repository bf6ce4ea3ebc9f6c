import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { db } from "~/server/db/client";
import { getStorage } from "~/server/storage";
import { startHttpServer, type TestHttpServer } from "../helpers/http-server";
import {
  multipartBody,
  patternBytes,
  postFiles,
  quotaOf,
  rawRequest,
  readBlob,
  sha256hex,
  visibleFiles,
} from "../helpers/upload-client";
import { createTestUser, type TestUser } from "../helpers/users";

// POST /api/files over a real HTTP port: streaming, server-side SHA-256, dedupe, clashes, and
// "nothing visible, nothing kept" after every kind of failure.

let http: TestHttpServer;

beforeAll(async () => {
  http = await startHttpServer();
});
// Users are left in the run's database (dropped by the global teardown): deleteUser cannot yet
// remove a user whose entries sit in folders (Entry.parent is ON DELETE RESTRICT).
afterAll(async () => {
  await http.close();
});

async function mkdir(user: TestUser, name: string, parentId: string | null = null) {
  return db.entry.create({
    data: { ownerId: user.actor.userId, parentId, parentKey: parentId ?? "", kind: "folder", name, activeName: name },
  });
}

/** Every form session of the user ended without leaving bytes behind. */
async function expectNothingKept(user: TestUser) {
  const sessions = await db.$primary().uploadSession.findMany({ where: { ownerId: user.actor.userId, protocol: "form" } });
  for (const s of sessions) {
    expect(s.state).not.toBe("open");
    if (s.state !== "completed") expect(await getStorage().head(s.stagingKey)).toBeNull();
  }
  const blobsAtSessionKeys = await db.$primary().blob.count({ where: { storageKey: { in: sessions.filter((s) => s.state !== "completed").map((s) => s.stagingKey) } } });
  expect(blobsAtSessionKeys).toBe(0);
}

describe("POST /api/files", () => {
  it("streams files into the drive with the server's SHA-256 and returns 201 with entries", async () => {
    const user = await createTestUser();
    const a = patternBytes(300_000, 11);
    const b = patternBytes(1234, 12);
    const r = await postFiles(http.baseUrl, user.authHeaders, [
      { name: "a.bin", data: a },
      { name: "notes.txt", data: b, type: "text/plain" },
    ]);
    expect(r.status).toBe(201);
    expect(r.json.files).toHaveLength(2);
    const [fa, fb] = r.json.files;
    expect(fa).toMatchObject({ name: "a.bin", kind: "file", parentId: null, size: a.length, sha256: sha256hex(a) });
    expect(fb).toMatchObject({ name: "notes.txt", size: b.length, sha256: sha256hex(b), mime: "text/plain" });
    expect(Object.keys(fa).sort()).toEqual(["createdAt", "id", "kind", "mime", "name", "parentId", "sha256", "size", "updatedAt"]);
    const files = await visibleFiles(user.actor.userId);
    expect(files).toHaveLength(2);
    expect(sha256hex(await readBlob(files[0]!.blob!.storageKey))).toBe(sha256hex(a));
    expect((await quotaOf(user.actor.userId)).used).toBe(a.length + b.length);
  });

  it("stores identical content once: a second upload adds a reference, not bytes", async () => {
    const user = await createTestUser();
    const other = await createTestUser();
    const data = patternBytes(70_000, 21);
    const r1 = await postFiles(http.baseUrl, user.authHeaders, [{ name: "x.bin", data }]);
    const r2 = await postFiles(http.baseUrl, other.authHeaders, [{ name: "y.bin", data }]);
    expect(r1.status).toBe(201);
    expect(r2.status).toBe(201);
    const blob = await db.$primary().blob.findUniqueOrThrow({ where: { sha256: sha256hex(data) } });
    expect(blob.refCount).toBe(2);
    // The second upload's own copy was deleted.
    const second = await db.$primary().uploadSession.findFirstOrThrow({ where: { ownerId: other.actor.userId, protocol: "form" } });
    expect(second.stagingKey).not.toBe(blob.storageKey);
    expect(await getStorage().head(second.stagingKey)).toBeNull();
    expect(sha256hex(await readBlob(blob.storageKey))).toBe(sha256hex(data));
  });

  it("gives clashing names a suffix and honours parentId", async () => {
    const user = await createTestUser();
    const folder = await mkdir(user, "docs");
    const first = await postFiles(http.baseUrl, user.authHeaders, [{ name: "r.pdf", data: patternBytes(10, 1) }], folder.id);
    const second = await postFiles(
      http.baseUrl,
      user.authHeaders,
      [
        { name: "r.pdf", data: patternBytes(11, 2) },
        { name: "r.pdf", data: patternBytes(12, 3) },
      ],
      folder.id,
    );
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(first.json.files[0]).toMatchObject({ name: "r.pdf", parentId: folder.id, mime: "application/pdf" });
    expect(second.json.files.map((f: { name: string }) => f.name)).toEqual(["r (1).pdf", "r (2).pdf"]);
  });

  it("keeps unicode, brackets and spaces in file names as the browser sent them (raw UTF-8 filename)", async () => {
    const user = await createTestUser();
    // (Browsers send a double quote in a filename as %22, per the HTML spec; that is their encoding, not ours.)
    const names = ["很长的文件名 报告.txt", "naïve café (v2).md", "emoji 📁.bin"];
    const res = await postFiles(http.baseUrl, user.authHeaders, names.map((name, i) => ({ name, data: patternBytes(20 + i, 40 + i) })));
    expect(res.status, JSON.stringify(res.json)).toBe(201);
    expect(res.json.files.map((f: { name: string }) => f.name)).toEqual(names);
    const listed = await user.caller.file.list({});
    expect(listed.items.map((i) => i.name).sort()).toEqual([...names].sort());
  });

  it("accepts an empty file", async () => {
    const user = await createTestUser();
    const r = await postFiles(http.baseUrl, user.authHeaders, [{ name: "empty", data: Buffer.alloc(0) }]);
    expect(r.status).toBe(201);
    expect(r.json.files[0]).toMatchObject({ size: 0, sha256: sha256hex(Buffer.alloc(0)) });
  });

  it("needs credentials", async () => {
    const r = await postFiles(http.baseUrl, {}, [{ name: "a", data: patternBytes(10) }]);
    expect(r.status).toBe(401);
    expect(r.json.error.code).toBe("UNAUTHORIZED");
  });

  it("404s someone else's folder and keeps nothing", async () => {
    const owner = await createTestUser();
    const intruder = await createTestUser();
    const folder = await mkdir(owner, "private");
    const r = await postFiles(http.baseUrl, intruder.authHeaders, [{ name: "a.bin", data: patternBytes(5000) }], folder.id);
    expect(r.status).toBe(404);
    expect(r.json.error.code).toBe("NOT_FOUND");
    expect(await visibleFiles(intruder.actor.userId)).toHaveLength(0);
    expect(await visibleFiles(owner.actor.userId)).toHaveLength(0);
    await expectNothingKept(intruder);
  });

  it("400s a form without a file", async () => {
    const user = await createTestUser();
    const { body, contentType } = multipartBody([{ name: "parentId", data: "" }]);
    const r = await rawRequest(http.baseUrl, { method: "POST", path: "/api/files", headers: { ...user.authHeaders, "content-type": contentType }, body });
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe("BAD_REQUEST");
  });

  it("415s a body that is not multipart/form-data", async () => {
    const user = await createTestUser();
    const r = await rawRequest(http.baseUrl, {
      method: "POST",
      path: "/api/files",
      headers: { ...user.authHeaders, "content-type": "application/octet-stream" },
      body: patternBytes(100),
    });
    expect(r.status).toBe(415);
  });

  it("rejects hostile names (/, NUL, .., 256 characters) and keeps nothing", async () => {
    const user = await createTestUser();
    for (const name of ["a/b.txt", "..", "nul\u0000.txt", "x".repeat(256)]) {
      const { body, contentType } = multipartBody([{ name: "file", filename: name, data: patternBytes(2000) }]);
      const r = await rawRequest(http.baseUrl, { method: "POST", path: "/api/files", headers: { ...user.authHeaders, "content-type": contentType }, body });
      expect(r.status, name).toBe(400);
    }
    expect(await visibleFiles(user.actor.userId)).toHaveLength(0);
    await expectNothingKept(user);
  });

  it("a truncated form makes nothing visible, not even the files before the cut", async () => {
    const user = await createTestUser();
    const whole = multipartBody([
      { name: "file", filename: "complete.bin", data: patternBytes(50_000, 5) },
      { name: "file", filename: "cut.bin", data: patternBytes(200_000, 6) },
    ]);
    const cut = whole.body.subarray(0, whole.body.length - 100_000);
    const r = await rawRequest(http.baseUrl, {
      method: "POST",
      path: "/api/files",
      headers: { ...user.authHeaders, "content-type": whole.contentType, "content-length": String(cut.length) },
      body: cut,
    });
    // node:http ends the request at content-length; busboy then sees the form end early.
    expect(r.status).toBe(400);
    expect(await visibleFiles(user.actor.userId)).toHaveLength(0);
    await expectNothingKept(user);
    expect((await quotaOf(user.actor.userId)).used).toBe(0);
  });

  it("a client that disconnects mid-body leaves nothing", async () => {
    const user = await createTestUser();
    const whole = multipartBody([{ name: "file", filename: "big.bin", data: patternBytes(2_000_000, 7) }]);
    const r = await rawRequest(http.baseUrl, {
      method: "POST",
      path: "/api/files",
      headers: { ...user.authHeaders, "content-type": whole.contentType, "content-length": String(whole.body.length) },
      body: whole.body,
      destroyAfter: 600_000,
    });
    expect(r.status).toBe(0);
    // The server notices the disconnect asynchronously: wait for its handler to finish.
    await http.idle();
    expect(await visibleFiles(user.actor.userId)).toHaveLength(0);
    await expectNothingKept(user);
  });

  it("parentId after the files is refused", async () => {
    const user = await createTestUser();
    const { body, contentType } = multipartBody([
      { name: "file", filename: "a.bin", data: patternBytes(100) },
      { name: "parentId", data: "" },
    ]);
    const r = await rawRequest(http.baseUrl, { method: "POST", path: "/api/files", headers: { ...user.authHeaders, "content-type": contentType }, body });
    expect(r.status).toBe(400);
    expect(await visibleFiles(user.actor.userId)).toHaveLength(0);
    await expectNothingKept(user);
  });

  it("413s past the quota and keeps nothing", async () => {
    const user = await createTestUser({ quotaBytes: 100_000 });
    const r = await postFiles(http.baseUrl, user.authHeaders, [
      { name: "a.bin", data: patternBytes(60_000, 1) },
      { name: "b.bin", data: patternBytes(60_000, 2) },
    ]);
    expect(r.status).toBe(413);
    expect(r.json.error.code).toBe("PAYLOAD_TOO_LARGE");
    expect(await visibleFiles(user.actor.userId)).toHaveLength(0);
    expect(await quotaOf(user.actor.userId)).toMatchObject({ used: 0, reserved: 0 });
    await expectNothingKept(user);
  });
});
