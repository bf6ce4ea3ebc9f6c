import { db, Prisma, type ReadClient } from "~/server/db/client";
import { DomainError } from "~/server/errors";
import { ENTRY_COLUMNS, type EntryRow } from "./entry-rows";
import type { Tx } from "./tree-tx";

// Reading the tree: one entry, its ancestors, a subtree. Ancestors and subtrees are ONE recursive
// CTE each (MariaDB 10.2+), never a query per level. Someone else's entry is indistinguishable from
// a missing one (NOT_FOUND), and so is a trashed one.

type Client = Tx | typeof db | ReadClient;

export const notFound = (what = "File or folder not found") => new DomainError("NOT_FOUND", what);

/**
 * The owner's live entry, or NOT_FOUND. `lock` takes a row lock on the entry (never its blob) for the
 * rest of the transaction.
 */
export async function requireLiveEntry(
  client: Client,
  ownerId: string,
  id: string,
  lock: "none" | "share" | "update" = "none",
): Promise<EntryRow> {
  if (lock !== "none") {
    const mode = lock === "update" ? Prisma.raw("FOR UPDATE") : Prisma.raw("LOCK IN SHARE MODE");
    const locked = await client.$queryRaw<Array<{ id: string }>>`
      SELECT id FROM Entry WHERE id = ${id} AND ownerId = ${ownerId} AND trashedAt IS NULL ${mode}`;
    if (locked.length === 0) throw notFound();
  }
  const rows = await client.$queryRaw<EntryRow[]>`
    SELECT ${ENTRY_COLUMNS} FROM Entry e LEFT JOIN \`Blob\` b ON b.id = e.blobId
    WHERE e.id = ${id} AND e.ownerId = ${ownerId} AND e.trashedAt IS NULL`;
  const row = rows[0];
  if (!row) throw notFound();
  return row;
}

/** The owner's live entries with these ids (each exactly once), locked FOR UPDATE; NOT_FOUND if any is missing. */
export async function requireLiveEntries(tx: Tx, ownerId: string, ids: string[]): Promise<EntryRow[]> {
  const unique = [...new Set(ids)];
  if (unique.length === 0) return [];
  // Lock the entry rows alone: a locking read joined to Blob would lock the blobs too, in entry
  // order, ahead of the blob lock order (tree-tx.ts), and hold up other users' uploads of that content.
  const locked = await tx.$queryRaw<Array<{ id: string }>>`
    SELECT id FROM Entry WHERE id IN (${Prisma.join(unique)}) AND ownerId = ${ownerId} AND trashedAt IS NULL
    ORDER BY id FOR UPDATE`;
  if (locked.length !== unique.length) throw notFound();
  return tx.$queryRaw<EntryRow[]>`
    SELECT ${ENTRY_COLUMNS} FROM Entry e LEFT JOIN \`Blob\` b ON b.id = e.blobId
    WHERE e.id IN (${Prisma.join(unique)}) AND e.ownerId = ${ownerId} ORDER BY e.id`;
}

/** The owner's live folder (null: the root), or NOT_FOUND; BAD_REQUEST for a file. */
export async function requireLiveFolder(client: Client, ownerId: string, folderId: string | null): Promise<EntryRow | null> {
  if (folderId === null) return null;
  const row = await requireLiveEntry(client, ownerId, folderId);
  if (row.kind !== "folder") throw new DomainError("BAD_REQUEST", "Not a folder");
  return row;
}

/**
 * The entry and its ancestors, root-first (the entry itself last), following parent links while
 * they stay the owner's.
 */
export async function ancestry(client: Client, ownerId: string, id: string): Promise<EntryRow[]> {
  const rows = await client.$queryRaw<Array<EntryRow & { depth: bigint | number }>>`
    WITH RECURSIVE up (id, parentId, depth) AS (
      SELECT id, parentId, 0 FROM Entry WHERE id = ${id} AND ownerId = ${ownerId}
      UNION ALL
      SELECT p.id, p.parentId, up.depth + 1 FROM Entry p JOIN up ON p.id = up.parentId
      WHERE p.ownerId = ${ownerId} AND up.depth < 10000
    )
    SELECT ${ENTRY_COLUMNS}, up.depth FROM up JOIN Entry e ON e.id = up.id LEFT JOIN \`Blob\` b ON b.id = e.blobId
    ORDER BY up.depth DESC`;
  return rows.map(({ depth: _depth, ...row }) => row as EntryRow);
}

/** Ids of the folder chain from `id` up to the root (including `id`); empty for the root. */
export async function ancestorIds(client: Client, ownerId: string, id: string | null): Promise<string[]> {
  if (id === null) return [];
  const rows = await client.$queryRaw<Array<{ id: string }>>`
    WITH RECURSIVE up (id, parentId, depth) AS (
      SELECT id, parentId, 0 FROM Entry WHERE id = ${id} AND ownerId = ${ownerId}
      UNION ALL
      SELECT p.id, p.parentId, up.depth + 1 FROM Entry p JOIN up ON p.id = up.parentId
      WHERE p.ownerId = ${ownerId} AND up.depth < 10000
    )
    SELECT id FROM up`;
  return rows.map((r) => r.id);
}

export interface SubtreeRow extends EntryRow {
  /** The id in `rootIds` this row was reached from. */
  root: string;
  /** 0 for the roots given, 1 for their children, ... */
  depth: number;
}

/**
 * The live subtrees under `rootIds` (roots included), parents before children. Only live entries
 * are followed: an item trashed on its own earlier stays its own trash item. A root inside another
 * root's subtree is returned under both.
 */
export async function liveSubtrees(client: Client, ownerId: string, rootIds: string[]): Promise<SubtreeRow[]> {
  if (rootIds.length === 0) return [];
  const rows = await client.$queryRaw<Array<EntryRow & { root: string; depth: bigint | number }>>`
    WITH RECURSIVE sub (root, id, depth) AS (
      SELECT id, id, 0 FROM Entry WHERE id IN (${Prisma.join(rootIds)}) AND ownerId = ${ownerId} AND trashedAt IS NULL
      UNION ALL
      SELECT sub.root, c.id, sub.depth + 1 FROM Entry c JOIN sub ON c.parentId = sub.id
      WHERE c.ownerId = ${ownerId} AND c.trashedAt IS NULL
    )
    SELECT ${ENTRY_COLUMNS}, sub.root, sub.depth FROM sub JOIN Entry e ON e.id = sub.id LEFT JOIN \`Blob\` b ON b.id = e.blobId
    ORDER BY sub.depth, e.id`;
  return rows.map((r) => ({ ...r, depth: Number(r.depth) }));
}

/** Drops entries that lie inside the subtree of another entry of the list (one CTE for all). */
export async function topmostOnly<T extends { id: string; parentId: string | null }>(client: Client, ownerId: string, rows: T[]): Promise<T[]> {
  const ids = rows.map((r) => r.id);
  if (ids.length < 2) return rows;
  const covered = await client.$queryRaw<Array<{ start: string }>>`
    WITH RECURSIVE up (start, id, parentId, depth) AS (
      SELECT e.id, p.id, p.parentId, 1 FROM Entry e JOIN Entry p ON p.id = e.parentId
      WHERE e.id IN (${Prisma.join(ids)}) AND e.ownerId = ${ownerId} AND p.ownerId = ${ownerId}
      UNION ALL
      SELECT up.start, p.id, p.parentId, up.depth + 1 FROM Entry p JOIN up ON p.id = up.parentId
      WHERE p.ownerId = ${ownerId} AND up.depth < 10000
    )
    SELECT DISTINCT start FROM up WHERE id IN (${Prisma.join(ids)})`;
  const inside = new Set(covered.map((c) => c.start));
  return rows.filter((r) => !inside.has(r.id));
}
