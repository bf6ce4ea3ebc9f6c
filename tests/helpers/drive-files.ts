import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { db } from "~/server/db/client";
import { commitBlob } from "~/server/services/blobs";
import { toEntryDto, type EntryDto } from "~/server/services/entry-dto";
import { insertFileEntry } from "~/server/services/files/insert-file";
import { withTreeLock } from "~/server/services/files/tree-tx";
import { chargeUsed } from "~/server/services/quota";
import { getStorage } from "~/server/storage";
import { joinKey } from "~/server/storage/keys";
import { patternBytes, sha256hex } from "./upload-client";
import { deleteCreatedTestUsers, type TestUser } from "./users";

// Drive fixtures for the drive, trash, share and download tests: files put straight into storage
// and the database the way an upload commits them (bytes, blob reference, quota, entry), so those
// tests do not depend on the upload routes. Cleanup that copes with nested folders.

// Deterministic bytes (different per seed) and SHA-256: the upload tests' helpers.
export { patternBytes as bytes, sha256hex };

/** A file in the user's drive holding `data` (deduplicated against existing blobs like an upload). */
export async function putFile(
  user: TestUser,
  input: { name: string; data: Buffer | string; parentId?: string | null; mime?: string | null },
): Promise<EntryDto> {
  const data = typeof input.data === "string" ? Buffer.from(input.data) : input.data;
  const sha256 = sha256hex(data);
  const storage = getStorage();
  const storageKey = joinKey("test-blobs", `${sha256.slice(0, 16)}-${randomBytes(6).toString("hex")}`);
  await storage.put(storageKey, Readable.from([data]), { size: data.length });
  // As an upload commits: under the owner's tree lock, re-run after a deadlock (withTreeLock).
  const { entry, created } = await withTreeLock(user.actor.userId, async (tx) => {
    const committed = await commitBlob(tx, { sha256, size: data.length, driver: storage.name, storageKey });
    await chargeUsed(tx, user.actor.userId, data.length);
    const entry = await insertFileEntry(tx, {
      ownerId: user.actor.userId,
      parentId: input.parentId ?? null,
      name: input.name,
      blobId: committed.blob.id,
      size: data.length,
      mime: input.mime === undefined ? "application/octet-stream" : input.mime,
      onClash: "suffix",
    });
    return { entry, created: committed.created };
  });
  if (!created) await storage.delete(storageKey);
  return toEntryDto(entry);
}

export async function usedBytes(user: TestUser): Promise<number> {
  const u = await db.$primary().user.findUniqueOrThrow({ where: { id: user.actor.userId }, select: { usedBytes: true } });
  return Number(u.usedBytes);
}

export async function refCountOf(sha256: string): Promise<number | null> {
  const blob = await db.$primary().blob.findUnique({ where: { sha256 }, select: { refCount: true } });
  return blob ? blob.refCount : null;
}

/**
 * Every entry row of the user, for invariant checks: no live entry under a trashed or missing
 * folder, every trashed descendant points at a trashed top.
 */
export async function treeProblems(userId: string): Promise<string[]> {
  const rows = await db.$primary().entry.findMany({ where: { ownerId: userId } });
  const byId = new Map(rows.map((r) => [r.id, r]));
  const problems: string[] = [];
  for (const r of rows) {
    if (r.parentKey !== (r.parentId ?? "")) problems.push(`${r.name}: parentKey ${r.parentKey} != parentId ${r.parentId}`);
    const parent = r.parentId ? byId.get(r.parentId) : null;
    if (r.parentId && !parent) problems.push(`${r.name}: parent ${r.parentId} missing`);
    if (r.trashedAt === null) {
      if (r.activeName !== r.name) problems.push(`${r.name}: live with activeName ${r.activeName}`);
      if (r.trashRootId !== null) problems.push(`${r.name}: live with trashRootId`);
      if (parent && parent.trashedAt !== null) problems.push(`${r.name}: live inside trashed ${parent.name}`);
      if (parent && parent.kind !== "folder") problems.push(`${r.name}: inside a file`);
    } else {
      const top = r.trashRootId ? byId.get(r.trashRootId) : null;
      if (!top || top.trashRootId !== top.id) problems.push(`${r.name}: trashed without a valid top`);
      if (r.trashRootId === r.id && r.activeName !== null) problems.push(`${r.name}: trash top keeps its activeName`);
      if (r.trashRootId !== r.id && (!parent || parent.trashRootId !== r.trashRootId)) {
        problems.push(`${r.name}: trashed descendant outside its top's subtree`);
      }
    }
  }
  return problems;
}

/** Deletes the test users this file created; detaches nested entries first (parentId is RESTRICT). */
export async function cleanupDriveUsers(users: TestUser[]): Promise<void> {
  for (const u of users) {
    await db.$executeRaw`UPDATE Entry SET parentId = NULL WHERE ownerId = ${u.actor.userId}`;
  }
  await deleteCreatedTestUsers();
}

/**
 * Many entries at once for listing tests: folders and files straight into the table (files share
 * one blob whose refCount matches). Sizes and dates as given; names must be unique in the folder.
 */
export async function bulkEntries(
  user: TestUser,
  parentId: string | null,
  specs: Array<{ name: string; kind: "file" | "folder"; size?: number; updatedAt?: Date }>,
): Promise<void> {
  const files = specs.filter((s) => s.kind === "file");
  let blobId: string | null = null;
  if (files.length > 0) {
    const sha256 = sha256hex(`bulk ${randomBytes(8).toString("hex")}`);
    const blob = await db.blob.create({
      data: { sha256, size: 0n, driver: getStorage().name, storageKey: joinKey("test-blobs", sha256), refCount: files.length },
    });
    blobId = blob.id;
  }
  const rows = specs.map((s) => ({
    ownerId: user.actor.userId,
    parentId,
    parentKey: parentId ?? "",
    kind: s.kind,
    name: s.name,
    activeName: s.name,
    blobId: s.kind === "file" ? blobId : null,
    size: s.kind === "file" ? BigInt(s.size ?? 0) : null,
    mime: s.kind === "file" ? "application/octet-stream" : null,
    ...(s.updatedAt ? { updatedAt: s.updatedAt } : {}),
  }));
  for (let i = 0; i < rows.length; i += 1000) await db.entry.createMany({ data: rows.slice(i, i + 1000) });
}
