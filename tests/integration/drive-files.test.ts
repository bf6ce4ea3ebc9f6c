import { afterAll, describe, expect, it } from "vitest";
import { db } from "~/server/db/client";
import type { EntryDto } from "~/server/services/entry-dto";
import { expectTrpcError } from "../helpers/drive-expect";
import { cleanupDriveUsers, putFile, refCountOf, sha256hex, treeProblems, usedBytes } from "../helpers/drive-files";
import { createTestUser, type TestUser } from "../helpers/users";

// file.* on a real database: folders, names and clashes, move, copy, get, path, downloadUrl, and
// that another user's ids are NOT_FOUND everywhere.

const users: TestUser[] = [];
async function user(opts: { quotaBytes?: number } = {}) {
  const u = await createTestUser(opts);
  users.push(u);
  return u;
}
afterAll(() => cleanupDriveUsers(users));

const names = (items: EntryDto[]) => items.map((i) => i.name);

describe("file.mkdir", () => {
  it("creates folders, case-sensitively unique per folder", async () => {
    const a = await user();
    const docs = await a.caller.file.mkdir({ name: "Docs" });
    expect(docs).toMatchObject({ name: "Docs", kind: "folder", parentId: null, size: null, sha256: null, mime: null });
    const lower = await a.caller.file.mkdir({ name: "docs" });
    expect(lower.id).not.toBe(docs.id);
    const inner = await a.caller.file.mkdir({ name: "Docs", parentId: docs.id });
    expect(inner.parentId).toBe(docs.id);
    await expectTrpcError(a.caller.file.mkdir({ name: "Docs" }), "CONFLICT");
    await expectTrpcError(a.caller.file.mkdir({ name: "Docs", parentId: docs.id }), "CONFLICT");
  });

  it("rejects names the API forbids with BAD_REQUEST", async () => {
    const a = await user();
    for (const name of ["", ".", "..", "a/b", "nul\0byte", "x".repeat(256)]) {
      await expectTrpcError(a.caller.file.mkdir({ name }), "BAD_REQUEST");
    }
    const long = await a.caller.file.mkdir({ name: "é".repeat(255) });
    expect(long.name).toHaveLength(255);
  });

  it("refuses parents that are files (BAD_REQUEST), trashed, missing or someone else's (NOT_FOUND)", async () => {
    const a = await user();
    const b = await user();
    const file = await putFile(a, { name: "f.txt", data: "x" });
    await expectTrpcError(a.caller.file.mkdir({ name: "x", parentId: file.id }), "BAD_REQUEST");
    const bFolder = await b.caller.file.mkdir({ name: "b-only" });
    await expectTrpcError(a.caller.file.mkdir({ name: "x", parentId: bFolder.id }), "NOT_FOUND");
    await expectTrpcError(a.caller.file.mkdir({ name: "x", parentId: "no-such-id" }), "NOT_FOUND");
    const gone = await a.caller.file.mkdir({ name: "gone" });
    await a.caller.file.delete({ ids: [gone.id] });
    await expectTrpcError(a.caller.file.mkdir({ name: "x", parentId: gone.id }), "NOT_FOUND");
  });

  it("lets exactly one of many concurrent mkdirs of one name win; the others get CONFLICT", async () => {
    const a = await user();
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => a.caller.file.mkdir({ name: "race" })));
    const won = results.filter((r) => r.status === "fulfilled");
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(7);
    for (const l of lost) expect(l.reason.code).toBe("CONFLICT");
    expect(await db.entry.count({ where: { ownerId: a.actor.userId, name: "race" } })).toBe(1);
  });
});

describe("file.rename", () => {
  it("renames, keeps ids, and answers CONFLICT for a taken name", async () => {
    const a = await user();
    const aaa = `aaa ${Math.random()}`;
    const f = await putFile(a, { name: "a.txt", data: aaa });
    await putFile(a, { name: "b.txt", data: "bbb" });
    const renamed = await a.caller.file.rename({ id: f.id, name: "c.txt" });
    expect(renamed).toMatchObject({ id: f.id, name: "c.txt", sha256: sha256hex(aaa), size: aaa.length });
    await expectTrpcError(a.caller.file.rename({ id: f.id, name: "b.txt" }), "CONFLICT");
    expect((await a.caller.file.rename({ id: f.id, name: "c.txt" })).name).toBe("c.txt");
    expect((await a.caller.file.get({ id: f.id })).name).toBe("c.txt");
    await expectTrpcError(a.caller.file.rename({ id: f.id, name: "bad/name" }), "BAD_REQUEST");
  });

  it("frees the old name and takes the new one for good", async () => {
    const a = await user();
    const f = await a.caller.file.mkdir({ name: "old" });
    await a.caller.file.rename({ id: f.id, name: "new" });
    await a.caller.file.mkdir({ name: "old" });
    await expectTrpcError(a.caller.file.mkdir({ name: "new" }), "CONFLICT");
  });
});

describe("file.move", () => {
  it("moves files and folders (with their contents) and back to the root", async () => {
    const a = await user();
    const src = await a.caller.file.mkdir({ name: "src" });
    const dst = await a.caller.file.mkdir({ name: "dst" });
    const f = await putFile(a, { name: "f.txt", data: "f", parentId: src.id });
    const sub = await a.caller.file.mkdir({ name: "sub", parentId: src.id });
    await putFile(a, { name: "deep.txt", data: "deep", parentId: sub.id });

    const moved = await a.caller.file.move({ ids: [f.id, sub.id], parentId: dst.id });
    expect(moved.map((m) => m.parentId)).toEqual([dst.id, dst.id]);
    expect(names((await a.caller.file.list({ parentId: dst.id })).items)).toEqual(["sub", "f.txt"]);
    expect((await a.caller.file.list({ parentId: src.id })).items).toEqual([]);
    expect(names((await a.caller.file.list({ parentId: sub.id })).items)).toEqual(["deep.txt"]);

    await a.caller.file.move({ ids: [sub.id], parentId: null });
    expect((await a.caller.file.get({ id: sub.id })).parentId).toBeNull();
    expect(await treeProblems(a.actor.userId)).toEqual([]);
  });

  it("refuses to move a folder into itself or below itself (BAD_REQUEST)", async () => {
    const a = await user();
    const top = await a.caller.file.mkdir({ name: "top" });
    const mid = await a.caller.file.mkdir({ name: "mid", parentId: top.id });
    const low = await a.caller.file.mkdir({ name: "low", parentId: mid.id });
    await expectTrpcError(a.caller.file.move({ ids: [top.id], parentId: top.id }), "BAD_REQUEST");
    await expectTrpcError(a.caller.file.move({ ids: [top.id], parentId: low.id }), "BAD_REQUEST");
    await expectTrpcError(a.caller.file.move({ ids: [low.id, top.id], parentId: mid.id }), "BAD_REQUEST");
    expect((await a.caller.file.get({ id: top.id })).parentId).toBeNull();
    expect((await a.caller.file.get({ id: low.id })).parentId).toBe(mid.id);
  });

  it("is all or nothing: a clash is CONFLICT and nothing moves", async () => {
    const a = await user();
    const dst = await a.caller.file.mkdir({ name: "dst" });
    await putFile(a, { name: "same.txt", data: "in dst", parentId: dst.id });
    const free = await putFile(a, { name: "free.txt", data: "1" });
    const clash = await putFile(a, { name: "same.txt", data: "2" });
    await expectTrpcError(a.caller.file.move({ ids: [free.id, clash.id], parentId: dst.id }), "CONFLICT");
    expect((await a.caller.file.get({ id: free.id })).parentId).toBeNull();
    expect((await a.caller.file.get({ id: clash.id })).parentId).toBeNull();

    const other = await a.caller.file.mkdir({ name: "other" });
    const twin = await putFile(a, { name: "free.txt", data: "3", parentId: other.id });
    await expectTrpcError(a.caller.file.move({ ids: [free.id, twin.id], parentId: dst.id }), "CONFLICT");
    expect((await a.caller.file.get({ id: twin.id })).parentId).toBe(other.id);
  });

  it("treats a move into the folder an entry is already in as a no-op", async () => {
    const a = await user();
    const d = await a.caller.file.mkdir({ name: "d" });
    const f = await putFile(a, { name: "f", data: "f", parentId: d.id });
    const [same] = await a.caller.file.move({ ids: [f.id], parentId: d.id });
    expect(same).toMatchObject({ id: f.id, parentId: d.id, name: "f" });
  });
});

describe("file.copy", () => {
  it("copies a file without copying bytes: same blob, one more reference, quota charged", async () => {
    const a = await user();
    const data = Buffer.from(`copy me ${Math.random()} `.repeat(1000));
    const f = await putFile(a, { name: "doc.txt", data, mime: "text/plain" });
    const dst = await a.caller.file.mkdir({ name: "dst" });
    const before = await usedBytes(a);
    expect(await refCountOf(f.sha256!)).toBe(1);
    const [copy] = await a.caller.file.copy({ ids: [f.id], parentId: dst.id });
    expect(copy).toMatchObject({ name: "doc.txt", parentId: dst.id, size: data.length, sha256: f.sha256, mime: "text/plain" });
    expect(copy!.id).not.toBe(f.id);
    expect(await refCountOf(f.sha256!)).toBe(2);
    expect(await usedBytes(a)).toBe(before + data.length);
    const blobs = await db.blob.count({ where: { sha256: f.sha256! } });
    expect(blobs).toBe(1);
  });

  it("gives a copy in the same folder a suffixed name, like an upload", async () => {
    const a = await user();
    const f = await putFile(a, { name: "report.pdf", data: "pdf" });
    const [c1] = await a.caller.file.copy({ ids: [f.id], parentId: null });
    const [c2] = await a.caller.file.copy({ ids: [f.id], parentId: null });
    expect([c1!.name, c2!.name]).toEqual(["report (1).pdf", "report (2).pdf"]);
    const d = await a.caller.file.mkdir({ name: "folder" });
    const [d1] = await a.caller.file.copy({ ids: [d.id] });
    expect(d1!.name).toBe("folder (1)");
  });

  it("copies folders recursively, sharing every blob", async () => {
    const a = await user();
    const root = await a.caller.file.mkdir({ name: "proj" });
    const src = await a.caller.file.mkdir({ name: "src", parentId: root.id });
    const lib = await a.caller.file.mkdir({ name: "lib", parentId: src.id });
    const xData = `x ${Math.random()}`;
    const yData = `yy ${Math.random()}`;
    const x = await putFile(a, { name: "x.ts", data: xData, parentId: src.id });
    await putFile(a, { name: "y.ts", data: yData, parentId: lib.id });
    await putFile(a, { name: "readme", data: xData, parentId: root.id }); // same content as x.ts
    const used = await usedBytes(a);

    const [copy] = await a.caller.file.copy({ ids: [root.id], parentId: null });
    expect(copy!.name).toBe("proj (1)");
    const top = (await a.caller.file.list({ parentId: copy!.id })).items;
    expect(names(top)).toEqual(["src", "readme"]);
    const srcCopy = top[0]!;
    expect(srcCopy.id).not.toBe(src.id);
    const srcItems = (await a.caller.file.list({ parentId: srcCopy.id })).items;
    expect(names(srcItems)).toEqual(["lib", "x.ts"]);
    expect(srcItems[1]!.sha256).toBe(x.sha256);
    expect(names((await a.caller.file.list({ parentId: srcItems[0]!.id })).items)).toEqual(["y.ts"]);

    expect(await refCountOf(sha256hex(xData))).toBe(4);
    expect(await refCountOf(sha256hex(yData))).toBe(2);
    expect(await usedBytes(a)).toBe(used + 2 * xData.length + yData.length);
    // the original is untouched
    expect(names((await a.caller.file.list({ parentId: lib.id })).items)).toEqual(["y.ts"]);
    expect(await treeProblems(a.actor.userId)).toEqual([]);
  });

  it("refuses a copy that does not fit the quota, and copies nothing", async () => {
    const a = await user({ quotaBytes: 1500 });
    const f = await putFile(a, { name: "big", data: Buffer.from(`${Math.random()}`.padEnd(1000, "z")) });
    await expectTrpcError(a.caller.file.copy({ ids: [f.id] }), "PAYLOAD_TOO_LARGE");
    expect(await refCountOf(f.sha256!)).toBe(1);
    expect(await usedBytes(a)).toBe(1000);
    expect((await a.caller.file.list()).items).toHaveLength(1);
  });

  it("refuses to copy a folder into itself", async () => {
    const a = await user();
    const d = await a.caller.file.mkdir({ name: "d" });
    const inner = await a.caller.file.mkdir({ name: "inner", parentId: d.id });
    await expectTrpcError(a.caller.file.copy({ ids: [d.id], parentId: inner.id }), "BAD_REQUEST");
    await expectTrpcError(a.caller.file.copy({ ids: [d.id], parentId: d.id }), "BAD_REQUEST");
  });
});

describe("file.get, file.path, file.downloadUrl", () => {
  it("returns the entry and its breadcrumbs root-first", async () => {
    const a = await user();
    const one = await a.caller.file.mkdir({ name: "one" });
    const two = await a.caller.file.mkdir({ name: "two", parentId: one.id });
    const f = await putFile(a, { name: "leaf.txt", data: "leaf", parentId: two.id });
    expect(await a.caller.file.get({ id: f.id })).toEqual(f);
    expect(names(await a.caller.file.path({ id: f.id }))).toEqual(["one", "two", "leaf.txt"]);
    expect(names(await a.caller.file.path({ id: one.id }))).toEqual(["one"]);
  });

  it("signs download URLs against the public origin, for files only", async () => {
    const a = await user();
    const f = await putFile(a, { name: "a.bin", data: "abc" });
    const { url } = await a.caller.file.downloadUrl({ id: f.id });
    const u = new URL(url);
    expect(u.origin).toBe(new URL(process.env.NEXTAUTH_URL!).origin);
    expect(u.pathname).toBe(`/api/files/${f.id}/content`);
    expect(Number(u.searchParams.get("expires"))).toBeGreaterThan(Date.now() / 1000 + 3500);
    expect(u.searchParams.get("signature")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const d = await a.caller.file.mkdir({ name: "d" });
    await expectTrpcError(a.caller.file.downloadUrl({ id: d.id }), "BAD_REQUEST");
    await expectTrpcError(a.caller.file.downloadUrl({ id: f.id, expiresIn: 0 }), "BAD_REQUEST");
  });
});

describe("isolation", () => {
  it("answers NOT_FOUND for another user's ids in every file procedure", async () => {
    const owner = await user();
    const intruder = await user();
    const folder = await owner.caller.file.mkdir({ name: "private" });
    const file = await putFile(owner, { name: "secret.txt", data: `secret ${Math.random()}`, parentId: folder.id });
    const mine = await intruder.caller.file.mkdir({ name: "mine" });
    const c = intruder.caller.file;
    await expectTrpcError(c.get({ id: file.id }), "NOT_FOUND");
    await expectTrpcError(c.path({ id: file.id }), "NOT_FOUND");
    await expectTrpcError(c.list({ parentId: folder.id }), "NOT_FOUND");
    await expectTrpcError(c.mkdir({ name: "x", parentId: folder.id }), "NOT_FOUND");
    await expectTrpcError(c.rename({ id: file.id, name: "mine.txt" }), "NOT_FOUND");
    await expectTrpcError(c.move({ ids: [file.id], parentId: mine.id }), "NOT_FOUND");
    await expectTrpcError(c.move({ ids: [mine.id], parentId: folder.id }), "NOT_FOUND");
    await expectTrpcError(c.copy({ ids: [file.id], parentId: mine.id }), "NOT_FOUND");
    await expectTrpcError(c.copy({ ids: [mine.id], parentId: folder.id }), "NOT_FOUND");
    await expectTrpcError(c.delete({ ids: [file.id] }), "NOT_FOUND");
    await expectTrpcError(c.downloadUrl({ id: file.id }), "NOT_FOUND");
    await expectTrpcError(intruder.caller.trash.restore({ ids: [file.id] }), "NOT_FOUND");
    await expectTrpcError(intruder.caller.trash.purge({ ids: [file.id] }), "NOT_FOUND");
    expect((await c.list({ q: "secret" })).items).toEqual([]);
    // and nothing changed for the owner
    expect(await owner.caller.file.get({ id: file.id })).toEqual(file);
    expect(await refCountOf(file.sha256!)).toBe(1);
  });

  it("needs credentials", async () => {
    const { anonymousCaller } = await import("../helpers/users");
    const anon = await anonymousCaller();
    await expectTrpcError(anon.file.list(), "UNAUTHORIZED");
    await expectTrpcError(anon.file.mkdir({ name: "x" }), "UNAUTHORIZED");
  });
});
