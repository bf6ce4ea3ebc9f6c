import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { db } from "~/server/db/client";
import { collectBlobs, commitBlob, releaseBlob, retainBlob } from "~/server/services/blobs";
import { runTransaction } from "~/server/db/transaction";
import { assertParentFolder, insertFileEntry } from "~/server/services/files/insert-file";
import { chargeUsed, commitReserved, refundUsed, release, reserve } from "~/server/services/quota";
import { toEntryDto } from "~/server/services/entry-dto";
import { getStorage } from "~/server/storage";
import { joinKey } from "~/server/storage/keys";
import { quotaOf, sha256hex } from "../helpers/upload-client";
import { createTestUser } from "../helpers/users";

// Blobs (reference counting, collection racing uploads), quota accounting and file-entry insertion:
// the functions the drive features build on.

async function storeBlob(content: Buffer, refCount = 1) {
  const key = joinKey("uploads", `t${randomBytes(8).toString("hex")}`);
  await getStorage().put(key, Readable.from([content]), { size: content.length });
  const blob = await db.blob.create({
    data: { sha256: sha256hex(content), size: BigInt(content.length), driver: getStorage().name, storageKey: key, refCount },
  });
  return { blob, key };
}

async function folder(ownerId: string, name: string, opts: { parentId?: string; trashed?: boolean } = {}) {
  return db.entry.create({
    data: {
      ownerId,
      parentId: opts.parentId ?? null,
      parentKey: opts.parentId ?? "",
      kind: "folder",
      name,
      activeName: opts.trashed ? null : name,
      trashedAt: opts.trashed ? new Date() : null,
    },
  });
}

describe("blobs", () => {
  it("retain and release count references; release never goes below zero", async () => {
    const { blob } = await storeBlob(randomBytes(100));
    await db.$transaction((tx) => retainBlob(tx, blob.id, 2));
    expect(await db.$transaction((tx) => releaseBlob(tx, blob.id))).toBe(2);
    expect(await db.$transaction((tx) => releaseBlob(tx, blob.id, 5))).toBe(0);
    await expect(db.$transaction((tx) => retainBlob(tx, blob.id, 0))).rejects.toThrow(RangeError);
  });

  it("collectBlobs deletes unreferenced blobs' bytes and rows, and nothing else", async () => {
    const gone = await storeBlob(randomBytes(1000), 0);
    const kept = await storeBlob(randomBytes(1000), 1);
    expect(await collectBlobs()).toBeGreaterThanOrEqual(1);
    expect(await db.$primary().blob.findUnique({ where: { id: gone.blob.id } })).toBeNull();
    expect(await getStorage().head(gone.key)).toBeNull();
    expect(await db.$primary().blob.findUnique({ where: { id: kept.blob.id } })).not.toBeNull();
    expect(await getStorage().head(kept.key)).not.toBeNull();
  });

  it("a blob whose counter lost track is repaired from its entries, never deleted", async () => {
    const user = await createTestUser();
    const { blob, key } = await storeBlob(randomBytes(500), 0);
    await db.$transaction((tx) =>
      insertFileEntry(tx, { ownerId: user.actor.userId, parentId: null, name: "x", blobId: blob.id, size: 500, mime: null, onClash: "suffix" }),
    );
    await collectBlobs();
    expect((await db.$primary().blob.findUniqueOrThrow({ where: { id: blob.id } })).refCount).toBe(1);
    expect(await getStorage().head(key)).not.toBeNull();
  });

  it("an upload of the same content racing the collector revives the blob with its own bytes", async () => {
    const content = randomBytes(4096);
    const old = await storeBlob(content, 0);
    // The collector has marked the blob (step 1) and is about to delete its bytes (step 2).
    await db.blob.update({ where: { id: old.blob.id }, data: { state: "deleting" } });
    // Meanwhile an upload of the same content commits its freshly written copy.
    const fresh = joinKey("uploads", `t${randomBytes(8).toString("hex")}`);
    await getStorage().put(fresh, Readable.from([content]), { size: content.length });
    const { blob, created } = await db.$transaction((tx) =>
      commitBlob(tx, { sha256: sha256hex(content), size: content.length, driver: getStorage().name, storageKey: fresh }),
    );
    expect(created).toBe(true);
    expect(blob).toMatchObject({ id: old.blob.id, state: "ready", refCount: 1, storageKey: fresh });
    // The collector finishes its run: old bytes go, the revived row and its new bytes stay.
    await getStorage().delete(old.key);
    const n = await db.$executeRaw`DELETE FROM \`Blob\` WHERE id = ${old.blob.id} AND state = 'deleting' AND refCount = 0 AND storageKey = ${old.key}`;
    expect(n).toBe(0);
    expect(await getStorage().head(fresh)).not.toBeNull();
    // A retain on a blob being deleted is refused.
    const other = await storeBlob(randomBytes(10), 1); // referenced: a collection by a concurrent test file must not take it
    await db.blob.update({ where: { id: other.blob.id }, data: { state: "deleting" } });
    await expect(db.$transaction((tx) => retainBlob(tx, other.blob.id))).rejects.toMatchObject({ code: "NOT_FOUND" });
  });

  it("concurrent commits of new content make one blob holding every reference, without a deadlock or retry", async () => {
    const same = randomBytes(2048);
    const others = Array.from({ length: 8 }, () => randomBytes(1024));
    const put = async (content: Buffer) => {
      const key = joinKey("uploads", `t${randomBytes(8).toString("hex")}`);
      await getStorage().put(key, Readable.from([content]), { size: content.length });
      return { content, key };
    };
    const staged = await Promise.all([...Array.from({ length: 8 }, () => put(same)), ...others.map(put)]);
    // Plain transactions at the server's default isolation (REPEATABLE READ), no retry: the old
    // SELECT ... FOR UPDATE of a missing digest took gap locks and deadlocked here.
    const results = await Promise.all(
      staged.map(({ content, key }) =>
        db.$transaction((tx) => commitBlob(tx, { sha256: sha256hex(content), size: content.length, driver: getStorage().name, storageKey: key })),
      ),
    );
    expect(results.slice(0, 8).filter((r) => r.created)).toHaveLength(1);
    expect(results.slice(8).every((r) => r.created)).toBe(true);
    const blob = await db.$primary().blob.findUniqueOrThrow({ where: { sha256: sha256hex(same) } });
    expect(blob.refCount).toBe(8);
    expect(staged.map((s) => s.key)).toContain(blob.storageKey);
  });

  it("commitBlob refuses content whose size disagrees with the stored blob of that digest", async () => {
    const { blob } = await storeBlob(randomBytes(100));
    await expect(
      db.$transaction((tx) => commitBlob(tx, { sha256: blob.sha256, size: 99, driver: getStorage().name, storageKey: "uploads/x" })),
    ).rejects.toMatchObject({ code: "INTERNAL_SERVER_ERROR" });
    expect((await db.$primary().blob.findUniqueOrThrow({ where: { id: blob.id } })).refCount).toBe(1);
  });
});

describe("quota", () => {
  it("chargeUsed is a conditional update: concurrent charges never exceed the quota", async () => {
    const user = await createTestUser({ quotaBytes: 100 });
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => db.$transaction((tx) => chargeUsed(tx, user.actor.userId, 30))));
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(3);
    for (const r of results) if (r.status === "rejected") expect((r.reason as { code: string }).code).toBe("PAYLOAD_TOO_LARGE");
    expect((await quotaOf(user.actor.userId)).used).toBe(90);
  });

  it("reservations count against the quota; commit, release and refund move the counters", async () => {
    const user = await createTestUser({ quotaBytes: 1000 });
    const id = user.actor.userId;
    await db.$transaction((tx) => reserve(tx, id, 600));
    await expect(db.$transaction((tx) => chargeUsed(tx, id, 500))).rejects.toMatchObject({ code: "PAYLOAD_TOO_LARGE" });
    await expect(db.$transaction((tx) => reserve(tx, id, 500))).rejects.toMatchObject({ code: "PAYLOAD_TOO_LARGE" });
    await db.$transaction((tx) => commitReserved(tx, id, 600, 600));
    expect(await quotaOf(id)).toMatchObject({ used: 600, reserved: 0 });
    await db.$transaction((tx) => reserve(tx, id, 400));
    await db.$transaction((tx) => release(tx, id, 400));
    await db.$transaction((tx) => refundUsed(tx, id, 10_000));
    expect(await quotaOf(id)).toMatchObject({ used: 0, reserved: 0 });
  });
});

describe("insertFileEntry", () => {
  it("suffixes clashing names, or reports CONFLICT", async () => {
    const user = await createTestUser();
    const { blob } = await storeBlob(randomBytes(10), 1); // referenced: a collection by a concurrent test file must not take it
    const add = (name: string, onClash: "suffix" | "conflict" = "suffix") =>
      db.$transaction((tx) => insertFileEntry(tx, { ownerId: user.actor.userId, parentId: null, name, blobId: blob.id, size: 10, mime: "text/plain", onClash }));
    expect((await add("a.txt")).name).toBe("a.txt");
    expect((await add("a.txt")).name).toBe("a (1).txt");
    expect((await add("a.txt")).name).toBe("a (2).txt");
    await expect(add("a.txt", "conflict")).rejects.toMatchObject({ code: "CONFLICT" });
    const dto = toEntryDto(await add(".bashrc"));
    expect(dto).toMatchObject({ name: ".bashrc", kind: "file", size: 10, sha256: blob.sha256, mime: "text/plain", parentId: null });
    expect((await add(".bashrc")).name).toBe(".bashrc (1)");
  });

  it("concurrent inserts of one name all land, under distinct names", async () => {
    const user = await createTestUser();
    const { blob } = await storeBlob(randomBytes(10), 1); // referenced: a collection by a concurrent test file must not take it
    const entries = await Promise.all(
      Array.from({ length: 6 }, () =>
        runTransaction((tx) =>
          insertFileEntry(tx, { ownerId: user.actor.userId, parentId: null, name: "same.bin", blobId: blob.id, size: 10, mime: null, onClash: "suffix" }),
        ),
      ),
    );
    expect(new Set(entries.map((e) => e.name)).size).toBe(6);
  });

  it("accepts only the owner's live folders as parents", async () => {
    const user = await createTestUser();
    const other = await createTestUser();
    const { blob } = await storeBlob(randomBytes(10), 1); // referenced: a collection by a concurrent test file must not take it
    const mine = await folder(user.actor.userId, "mine");
    const theirs = await folder(other.actor.userId, "theirs");
    const trashed = await folder(user.actor.userId, "old", { trashed: true });
    const file = await db.$transaction((tx) =>
      insertFileEntry(tx, { ownerId: user.actor.userId, parentId: mine.id, name: "f", blobId: blob.id, size: 10, mime: null, onClash: "suffix" }),
    );
    expect(file.parentKey).toBe(mine.id);
    expect(file.activeName).toBe("f");
    await expect(db.$transaction((tx) => assertParentFolder(tx, user.actor.userId, theirs.id))).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(db.$transaction((tx) => assertParentFolder(tx, user.actor.userId, trashed.id))).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(db.$transaction((tx) => assertParentFolder(tx, user.actor.userId, file.id))).rejects.toMatchObject({ code: "BAD_REQUEST" });
    await expect(db.$transaction((tx) => assertParentFolder(tx, user.actor.userId, "nope"))).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(
      db.$transaction((tx) =>
        insertFileEntry(tx, { ownerId: user.actor.userId, parentId: null, name: "../x", blobId: blob.id, size: 10, mime: null, onClash: "suffix" }),
      ),
    ).rejects.toMatchObject({ code: "BAD_REQUEST" });
  });
});
