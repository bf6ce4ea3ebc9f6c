import { env } from "~/env";
import { db, Prisma } from "~/server/db/client";
import { releaseBlob, scheduleBlobCollection } from "~/server/services/blobs";
import { notFound } from "~/server/services/files/tree";
import { withTreeLock, type Tx } from "~/server/services/files/tree-tx";
import { refundUsed } from "~/server/services/quota";
import { trashEntries } from "./trash-entries";
import { takeTokens } from "~/server/services/rate-limit";

// trash.purge and the retention sweeper: trashed subtrees are deleted for good. In one transaction
// per batch of trash items: the rows go (their shares with them, by cascade), every blob they
// pointed at loses one reference per row (releaseBlob), and the owner gets the bytes back
// (refundUsed). When a blob lost its last reference, a blob.collect job is enqueued in the same
// transaction: the worker deletes the bytes, never the user's request (a slow or unreachable
// storage backend does not slow a purge down); the worker's periodic collection is the backstop.

/** Trash items purged per transaction, so purging a huge trash never holds locks for long. */
const TOPS_PER_BATCH = 100;

export interface PurgeResult {
  /** Trash items (tops of trashed subtrees) removed. */
  items: number;
  /** Entries removed, descendants included. */
  entries: number;
  /** Bytes given back to the owners' quotas. */
  bytes: number;
}

const empty = (): PurgeResult => ({ items: 0, entries: 0, bytes: 0 });

/** Deletes the trashed subtrees under `topIds` (tops of `ownerId`'s trash, already locked). */
async function purgeTops(tx: Tx, ownerId: string, topIds: string[]): Promise<PurgeResult> {
  if (topIds.length === 0) return empty();
  const tops = Prisma.join(topIds);
  const rows = await tx.$queryRaw<Array<{ id: string; blobId: string | null; size: bigint | null }>>`
    SELECT id, blobId, size FROM Entry WHERE ownerId = ${ownerId} AND trashRootId IN (${tops}) FOR UPDATE`;

  // Items trashed on their own before their folder was, still pointing at it: they stay in the
  // trash and will be restored to the root.
  await tx.$executeRaw`
    UPDATE Entry SET parentId = NULL, parentKey = ''
    WHERE ownerId = ${ownerId} AND trashRootId = id AND trashRootId NOT IN (${tops})
      AND parentId IN (SELECT id FROM (SELECT id FROM Entry WHERE ownerId = ${ownerId} AND trashRootId IN (${tops})) AS gone)`;
  // The parent links inside the subtrees would make the row-by-row foreign key check refuse to
  // delete a folder before its children; cut them first (parentKey stays, so no unique key moves).
  await tx.$executeRaw`UPDATE Entry SET parentId = NULL WHERE ownerId = ${ownerId} AND trashRootId IN (${tops})`;
  const entries = await tx.$executeRaw`DELETE FROM Entry WHERE ownerId = ${ownerId} AND trashRootId IN (${tops})`;

  let bytes = 0n;
  const blobRefs = new Map<string, number>();
  for (const row of rows) {
    if (row.blobId === null) continue;
    bytes += row.size ?? 0n;
    blobRefs.set(row.blobId, (blobRefs.get(row.blobId) ?? 0) + 1);
  }
  let unreferenced = 0;
  for (const [blobId, count] of [...blobRefs].sort(([a], [b]) => a.localeCompare(b))) {
    if ((await releaseBlob(tx, blobId, count)) === 0) unreferenced++;
  }
  if (unreferenced > 0) await scheduleBlobCollection(tx, "trash.purge");
  await refundUsed(tx, ownerId, bytes);
  return { items: topIds.length, entries, bytes: Number(bytes) };
}

function add(total: PurgeResult, part: PurgeResult): PurgeResult {
  return { items: total.items + part.items, entries: total.entries + part.entries, bytes: total.bytes + part.bytes };
}

/** Purges the owner's trash items among `where`, batch by batch, until none is left. */
async function purgeWhere(ownerId: string, where: Prisma.Sql): Promise<PurgeResult> {
  let total = empty();
  for (;;) {
    const part = await withTreeLock(ownerId, async (tx) => {
      const batch = await tx.$queryRaw<Array<{ id: string }>>`
        SELECT id FROM Entry
        WHERE ownerId = ${ownerId} AND trashedAt IS NOT NULL AND trashRootId = id AND ${where}
        ORDER BY id LIMIT ${TOPS_PER_BATCH} FOR UPDATE`;
      return purgeTops(tx, ownerId, batch.map((b) => b.id));
    });
    total = add(total, part);
    if (part.items < TOPS_PER_BATCH) return total;
  }
}

/**
 * trash.purge: the given trash items (all of them or NOT_FOUND, nothing purged), or the whole
 * trash when `ids` is omitted.
 */
export async function purgeTrash(ownerId: string, input: { ids?: string[] } = {}): Promise<PurgeResult> {
  // Purging deletes rows and blobs in bulk: per-user token bucket (services/rate-limit.ts).
  await takeTokens("purge", `user:${ownerId}`);
  return purgeOwnTrash(ownerId, input);
}

/** trash.purge without the user's rate limit (account deletion, operators). */
async function purgeOwnTrash(ownerId: string, input: { ids?: string[] } = {}): Promise<PurgeResult> {
  let result: PurgeResult;
  if (input.ids === undefined) {
    result = await purgeWhere(ownerId, Prisma.sql`1 = 1`);
  } else {
    const ids = [...new Set(input.ids)];
    result = await withTreeLock(ownerId, async (tx) => {
      if (ids.length === 0) return empty();
      const found = await tx.$queryRaw<Array<{ id: string }>>`
        SELECT id FROM Entry
        WHERE id IN (${Prisma.join(ids)}) AND ownerId = ${ownerId} AND trashedAt IS NOT NULL AND trashRootId = id
        ORDER BY id FOR UPDATE`;
      if (found.length !== ids.length) throw notFound("Not in the trash");
      return purgeTops(tx, ownerId, ids);
    });
  }
  return result;
}

/**
 * The retention sweeper (run by the worker): purges every trash item trashed more than
 * TRASH_RETENTION_DAYS before `now`. Walks users and uses the (ownerId, trashedAt) index per user.
 */
export async function purgeExpiredTrash(now = new Date(), options: { retentionDays?: number } = {}): Promise<PurgeResult> {
  const retentionDays = options.retentionDays ?? env.TRASH_RETENTION_DAYS;
  const cutoff = new Date(now.getTime() - retentionDays * 86_400_000);
  let total = empty();
  let afterUser = "";
  for (;;) {
    const users = await db.$queryRaw<Array<{ id: string }>>`
      SELECT id FROM \`User\` WHERE id > ${afterUser} ORDER BY id LIMIT 500`;
    for (const { id } of users) {
      const due = await db.$queryRaw<Array<{ one: number }>>`
        SELECT 1 AS one FROM Entry WHERE ownerId = ${id} AND trashedAt IS NOT NULL AND trashedAt <= ${cutoff} LIMIT 1`;
      if (due.length === 0) continue;
      total = add(total, await purgeWhere(id, Prisma.sql`trashedAt <= ${cutoff}`));
    }
    if (users.length < 500) break;
    afterUser = users[users.length - 1]!.id;
  }
  return total;
}

/**
 * Everything in a drive, trash included, purged the normal way (references released, quota given
 * back, unreferenced bytes collected): for deleting an account, whose rows the foreign keys would
 * otherwise refuse to cascade (Entry.parentId is RESTRICT).
 */
export async function emptyDrive(ownerId: string): Promise<PurgeResult> {
  for (;;) {
    const roots = await db.$queryRaw<Array<{ id: string }>>`
      SELECT id FROM Entry WHERE ownerId = ${ownerId} AND parentKey = '' AND trashedAt IS NULL LIMIT 1000`;
    if (roots.length === 0) break;
    await trashEntries(ownerId, { ids: roots.map((r) => r.id) });
  }
  return purgeOwnTrash(ownerId);
}
