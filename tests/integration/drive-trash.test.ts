import { afterAll, describe, expect, it } from "vitest";
import { runQueuedJobs } from "../helpers/jobs";
import { db } from "~/server/db/client";
import { getStorage } from "~/server/storage";
import { emptyDrive, purgeExpiredTrash } from "~/server/services/trash/purge-trash";
import { expectTrpcError } from "../helpers/drive-expect";
import { bytes, cleanupDriveUsers, putFile, refCountOf, treeProblems, usedBytes } from "../helpers/drive-files";
import { createTestUser, type TestUser } from "../helpers/users";

// file.delete and trash.*: whole subtrees in and out of the trash, name clashes on restore,
// purging with blob references, quota and stored bytes, the retention sweeper, and races between
// moves and deletes.

const users: TestUser[] = [];
async function user(opts: { quotaBytes?: number } = {}) {
  const u = await createTestUser(opts);
  users.push(u);
  return u;
}
afterAll(() => cleanupDriveUsers(users));

const names = (items: Array<{ name: string }>) => items.map((i) => i.name);

async function storageKeyOf(sha256: string): Promise<string | null> {
  const blob = await db.$primary().blob.findUnique({ where: { sha256 } });
  return blob?.storageKey ?? null;
}

describe("file.delete", () => {
  it("moves a whole subtree to the trash in one step; only the top is listed", async () => {
    const a = await user();
    const top = await a.caller.file.mkdir({ name: "top" });
    const mid = await a.caller.file.mkdir({ name: "mid", parentId: top.id });
    const f = await putFile(a, { name: "f.txt", data: bytes(100, 1), parentId: mid.id });
    await putFile(a, { name: "g.txt", data: bytes(50, 2), parentId: top.id });

    expect(await a.caller.file.delete({ ids: [top.id] })).toEqual({ trashed: 4 });
    expect((await a.caller.file.list()).items).toEqual([]);
    await expectTrpcError(a.caller.file.get({ id: f.id }), "NOT_FOUND");
    await expectTrpcError(a.caller.file.list({ parentId: mid.id }), "NOT_FOUND");
    await expectTrpcError(a.caller.file.path({ id: f.id }), "NOT_FOUND");
    const trash = await a.caller.trash.list();
    expect(names(trash.items)).toEqual(["top"]);
    expect(trash.items[0]).toMatchObject({ id: top.id, kind: "folder", entryCount: 4, totalSize: 150 });
    expect(trash.items[0]!.purgeAt.getTime() - trash.items[0]!.trashedAt.getTime()).toBe(30 * 86_400_000);
    // the name is free again while the trash holds the old one
    await a.caller.file.mkdir({ name: "top" });
    // deleting twice is NOT_FOUND
    await expectTrpcError(a.caller.file.delete({ ids: [top.id] }), "NOT_FOUND");
    await expectTrpcError(a.caller.file.delete({ ids: [f.id] }), "NOT_FOUND");
    expect(await treeProblems(a.actor.userId)).toEqual([]);
  });

  it("deletes a folder and something inside it as one item", async () => {
    const a = await user();
    const d = await a.caller.file.mkdir({ name: "d" });
    const inner = await putFile(a, { name: "inner", data: "i", parentId: d.id });
    await a.caller.file.delete({ ids: [inner.id, d.id] });
    expect(names((await a.caller.trash.list()).items)).toEqual(["d"]);
    expect(await treeProblems(a.actor.userId)).toEqual([]);
  });

  it("keeps items the trash may hold twice under one name", async () => {
    const a = await user();
    const one = await putFile(a, { name: "same.txt", data: "1" });
    await a.caller.file.delete({ ids: [one.id] });
    const two = await putFile(a, { name: "same.txt", data: "2" });
    await a.caller.file.delete({ ids: [two.id] });
    expect(names((await a.caller.trash.list()).items)).toEqual(["same.txt", "same.txt"]);
  });
});

describe("trash.restore", () => {
  it("puts a subtree back where it was, intact", async () => {
    const a = await user();
    const parent = await a.caller.file.mkdir({ name: "parent" });
    const d = await a.caller.file.mkdir({ name: "d", parentId: parent.id });
    const sub = await a.caller.file.mkdir({ name: "sub", parentId: d.id });
    await putFile(a, { name: "x", data: "x", parentId: sub.id });
    await a.caller.file.delete({ ids: [d.id] });
    const [restored] = await a.caller.trash.restore({ ids: [d.id] });
    expect(restored).toMatchObject({ id: d.id, name: "d", parentId: parent.id });
    expect(names((await a.caller.file.list({ parentId: sub.id })).items)).toEqual(["x"]);
    expect((await a.caller.trash.list()).items).toEqual([]);
    expect(await treeProblems(a.actor.userId)).toEqual([]);
  });

  it("suffixes the name when it was taken meanwhile", async () => {
    const a = await user();
    const f = await putFile(a, { name: "notes.txt", data: "old" });
    await a.caller.file.delete({ ids: [f.id] });
    await putFile(a, { name: "notes.txt", data: "new" });
    const [restored] = await a.caller.trash.restore({ ids: [f.id] });
    expect(restored!.name).toBe("notes (1).txt");
    expect(names((await a.caller.file.list()).items).sort()).toEqual(["notes (1).txt", "notes.txt"]);
  });

  it("restores to the root when the original folder is gone or in the trash", async () => {
    const a = await user();
    const d = await a.caller.file.mkdir({ name: "d" });
    const f = await putFile(a, { name: "alone.txt", data: "alone", parentId: d.id });
    await a.caller.file.delete({ ids: [f.id] }); // trashed on its own first
    await a.caller.file.delete({ ids: [d.id] }); // then its folder
    const [back] = await a.caller.trash.restore({ ids: [f.id] });
    expect(back).toMatchObject({ id: f.id, parentId: null });

    const e = await a.caller.file.mkdir({ name: "e" });
    const g = await putFile(a, { name: "g.txt", data: "g", parentId: e.id });
    await a.caller.file.delete({ ids: [g.id] });
    await a.caller.file.delete({ ids: [e.id] });
    await a.caller.trash.purge({ ids: [e.id] }); // the folder is purged, g stays in the trash
    expect(names((await a.caller.trash.list()).items)).toContain("g.txt");
    const [g2] = await a.caller.trash.restore({ ids: [g.id] });
    expect(g2).toMatchObject({ id: g.id, parentId: null, name: "g.txt" });
    expect(await treeProblems(a.actor.userId)).toEqual([]);
  });

  it("answers NOT_FOUND for live entries and for items inside a trashed folder", async () => {
    const a = await user();
    const d = await a.caller.file.mkdir({ name: "d" });
    const inside = await putFile(a, { name: "in", data: "in", parentId: d.id });
    await expectTrpcError(a.caller.trash.restore({ ids: [d.id] }), "NOT_FOUND");
    await a.caller.file.delete({ ids: [d.id] });
    await expectTrpcError(a.caller.trash.restore({ ids: [inside.id] }), "NOT_FOUND");
    await expectTrpcError(a.caller.trash.purge({ ids: [inside.id] }), "NOT_FOUND");
  });
});

describe("trash.purge", () => {
  it("deletes rows, releases blobs, refunds quota and removes unreferenced bytes from storage", async () => {
    const a = await user();
    const b = await user();
    const shared = bytes(4000, 31);
    const own = bytes(3000, 32);
    const d = await a.caller.file.mkdir({ name: "d" });
    const fa = await putFile(a, { name: "shared.bin", data: shared, parentId: d.id });
    await putFile(a, { name: "own.bin", data: own, parentId: d.id });
    await a.caller.file.copy({ ids: [fa.id], parentId: d.id }); // two refs from a's subtree
    await putFile(b, { name: "also.bin", data: shared }); // one ref from b
    const sharedSha = fa.sha256!;
    const ownSha = (await a.caller.file.list({ parentId: d.id })).items.find((i) => i.name === "own.bin")!.sha256!;
    const ownKey = (await storageKeyOf(ownSha))!;
    const sharedKey = (await storageKeyOf(sharedSha))!;
    expect(await refCountOf(sharedSha)).toBe(3);
    expect(await usedBytes(a)).toBe(4000 * 2 + 3000);

    await a.caller.file.delete({ ids: [d.id] });
    expect(await usedBytes(a)).toBe(4000 * 2 + 3000); // the trash still counts
    const result = await a.caller.trash.purge({ ids: [d.id] });
    expect(result).toEqual({ items: 1, entries: 4, bytes: 11000 });
    expect(await usedBytes(a)).toBe(0);
    expect(await refCountOf(sharedSha)).toBe(1);
    // The bytes are the worker's to delete: a blob.collect job was committed with the purge.
    expect(await refCountOf(ownSha)).toBe(0);
    expect(await db.$primary().transferOutbox.count({ where: { kind: "blob.collect.v1", state: { in: ["pending", "published", "running", "done"] } } })).toBeGreaterThan(0);
    await runQueuedJobs({ kinds: ["blob.collect.v1"] });
    expect(await refCountOf(ownSha)).toBeNull();
    expect(await getStorage().head(ownKey)).toBeNull();
    expect(await getStorage().head(sharedKey)).not.toBeNull();
    expect(await db.entry.count({ where: { ownerId: a.actor.userId } })).toBe(0);
    expect((await a.caller.trash.list()).items).toEqual([]);
  });

  it("empties the whole trash when no ids are given, beyond one batch", async () => {
    const a = await user();
    const ids: string[] = [];
    for (let i = 0; i < 130; i++) ids.push((await a.caller.file.mkdir({ name: `d${i}` })).id);
    const f = await putFile(a, { name: "f", data: bytes(10, 40) });
    await a.caller.file.delete({ ids: [...ids, f.id] });
    await a.caller.file.mkdir({ name: "kept" });
    const result = await a.caller.trash.purge();
    expect(result.items).toBe(131);
    expect((await a.caller.trash.list()).items).toEqual([]);
    expect(names((await a.caller.file.list()).items)).toEqual(["kept"]);
    expect(await usedBytes(a)).toBe(0);
  });

  it("removes shares of purged entries with them", async () => {
    const a = await user();
    const f = await putFile(a, { name: "s.txt", data: "shared" });
    await a.caller.share.create({ id: f.id });
    await a.caller.file.delete({ ids: [f.id] });
    await a.caller.trash.purge({ ids: [f.id] });
    expect(await db.share.count({ where: { ownerId: a.actor.userId } })).toBe(0);
  });

  it("pages the trash list newest first", async () => {
    const a = await user();
    for (let i = 0; i < 5; i++) {
      const d = await a.caller.file.mkdir({ name: `t${i}` });
      await a.caller.file.delete({ ids: [d.id] });
    }
    const first = await a.caller.trash.list({ limit: 3 });
    const second = await a.caller.trash.list({ limit: 3, cursor: first.nextCursor });
    expect([...names(first.items), ...names(second.items)]).toEqual(["t4", "t3", "t2", "t1", "t0"]);
    expect(second.nextCursor).toBeNull();
  });
});

describe("purgeExpiredTrash", () => {
  it("purges items trashed longer ago than the retention, and only those", async () => {
    const a = await user();
    const old = await putFile(a, { name: "old", data: bytes(70, 50) });
    const recent = await putFile(a, { name: "recent", data: bytes(80, 51) });
    await a.caller.file.delete({ ids: [old.id] });
    await a.caller.file.delete({ ids: [recent.id] });
    await db.entry.update({ where: { id: old.id }, data: { trashedAt: new Date(Date.now() - 31 * 86_400_000) } });

    const result = await purgeExpiredTrash(new Date());
    expect(result.items).toBeGreaterThanOrEqual(1);
    expect(names((await a.caller.trash.list()).items)).toEqual(["recent"]);
    expect(await usedBytes(a)).toBe(80);
    // once it is old enough, the rest is due too (aged in the database: a sweep with the clock moved
    // forward would also purge the trash of test files running at the same time)
    await db.entry.update({ where: { id: recent.id }, data: { trashedAt: new Date(Date.now() - 31 * 86_400_000) } });
    await purgeExpiredTrash(new Date());
    expect((await a.caller.trash.list()).items).toEqual([]);
    expect(await usedBytes(a)).toBe(0);
  });
});

describe("emptyDrive", () => {
  it("purges a whole drive, trash included, so the account can be deleted", async () => {
    const a = await user();
    const d = await a.caller.file.mkdir({ name: "d" });
    const sub = await a.caller.file.mkdir({ name: "sub", parentId: d.id });
    const f = await putFile(a, { name: "f", data: bytes(120, 90), parentId: sub.id });
    const g = await putFile(a, { name: "g", data: bytes(30, 91) });
    await a.caller.file.delete({ ids: [g.id] });
    const result = await emptyDrive(a.actor.userId);
    expect(result).toMatchObject({ entries: 4, bytes: 150 });
    expect(await db.entry.count({ where: { ownerId: a.actor.userId } })).toBe(0);
    await runQueuedJobs({ kinds: ["blob.collect.v1"] });
    expect(await refCountOf(f.sha256!)).toBeNull();
    expect(await usedBytes(a)).toBe(0);
    // nothing left for the foreign keys to refuse
    await db.user.delete({ where: { id: a.actor.userId } });
    users.splice(users.indexOf(a), 1);
  });
});

describe("races", () => {
  it("move racing delete ends consistent: nothing live inside a trashed folder", async () => {
    for (let round = 0; round < 6; round++) {
      const a = await user();
      const target = await a.caller.file.mkdir({ name: "target" });
      const inner = await a.caller.file.mkdir({ name: "inner", parentId: target.id });
      const movers = [];
      for (let i = 0; i < 4; i++) movers.push(await putFile(a, { name: `m${i}`, data: `m${round}-${i}` }));
      const results = await Promise.allSettled([
        ...movers.map((m, i) => a.caller.file.move({ ids: [m.id], parentId: i % 2 ? target.id : inner.id })),
        a.caller.file.delete({ ids: [target.id] }),
      ]);
      for (const r of results) if (r.status === "rejected") expect(r.reason.code).toBe("NOT_FOUND");
      expect(await treeProblems(a.actor.userId)).toEqual([]);
      // whatever reached the folder before the delete went to the trash with it
      const live = (await a.caller.file.list()).items;
      const trash = (await a.caller.trash.list()).items;
      expect(names(trash)).toEqual(["target"]);
      const liveNames = new Set(names(live));
      const movedIn = results.slice(0, 4).filter((r) => r.status === "fulfilled").length;
      expect(trash[0]!.entryCount).toBe(2 + movedIn);
      expect(liveNames.size).toBe(4 - movedIn);
    }
  });

  it("moving a folder out while its parent is deleted leaves it either live or in the trash, never both", async () => {
    for (let round = 0; round < 6; round++) {
      const a = await user();
      const parent = await a.caller.file.mkdir({ name: "parent" });
      const child = await a.caller.file.mkdir({ name: "child", parentId: parent.id });
      await putFile(a, { name: "leaf", data: `leaf ${round}`, parentId: child.id });
      const elsewhere = await a.caller.file.mkdir({ name: "elsewhere" });
      await Promise.allSettled([
        a.caller.file.move({ ids: [child.id], parentId: elsewhere.id }),
        a.caller.file.delete({ ids: [parent.id] }),
      ]);
      expect(await treeProblems(a.actor.userId)).toEqual([]);
      const row = await db.entry.findUniqueOrThrow({ where: { id: child.id } });
      if (row.trashedAt === null) expect(row.parentId).toBe(elsewhere.id);
      else expect(row.trashRootId).toBe(parent.id);
    }
  });

  it("mkdir racing a delete of its parent never leaves a live folder in the trash", async () => {
    for (let round = 0; round < 6; round++) {
      const a = await user();
      const parent = await a.caller.file.mkdir({ name: "p" });
      await Promise.allSettled([
        ...Array.from({ length: 3 }, (_, i) => a.caller.file.mkdir({ name: `c${i}`, parentId: parent.id })),
        a.caller.file.delete({ ids: [parent.id] }),
      ]);
      expect(await treeProblems(a.actor.userId)).toEqual([]);
    }
  });
});
