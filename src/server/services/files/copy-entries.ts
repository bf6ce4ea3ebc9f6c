import { Prisma } from "~/server/db/client";
import { DomainError } from "~/server/errors";
import { retainBlob } from "~/server/services/blobs";
import type { EntryDto } from "~/server/services/entry-dto";
import { assertParentFolder } from "~/server/services/files/insert-file";
import { chargeUsed } from "~/server/services/quota";
import { takeTokens } from "~/server/services/rate-limit";
import { ENTRY_COLUMNS, rowToDto, type EntryRow } from "./entry-rows";
import { insertWithFreeName } from "./free-name";
import { newEntryId } from "./ids";
import { ancestorIds, liveSubtrees, requireLiveEntries } from "./tree";
import { withTreeLock, type Tx } from "./tree-tx";

// Copies without copying bytes: a copied file is a new entry on the same blob (one more
// reference) and its size is charged to the target owner's quota; folders are copied with their
// whole live subtree (one CTE to read it, bulk INSERTs to write it). A copy whose name is taken in
// the target gets "name (1)" like an upload. Used by file.copy and share.save.

const INSERT_BATCH = 500;

export interface CopySource {
  ownerId: string;
  /** Live entries of that owner, validated by the caller. */
  roots: EntryRow[];
}

/**
 * Copies each root (with its subtree) into `target`, inside the caller's transaction, which must
 * hold the target owner's tree lock. Returns the new top-level entries in the order of `roots`.
 */
export async function copyTrees(
  tx: Tx,
  source: CopySource,
  target: { ownerId: string; parentId: string | null },
): Promise<EntryRow[]> {
  const rows = await liveSubtrees(tx, source.ownerId, source.roots.map((r) => r.id));
  // Every entry copied costs the target owner a token (services/rate-limit.ts): one huge tree
  // spends what many small copies would. Refused: TOO_MANY_REQUESTS, the transaction rolls back.
  await takeTokens("tree", `user:${target.ownerId}`, rows.length);

  let bytes = 0n;
  const blobRefs = new Map<string, number>();
  for (const row of rows) {
    if (row.kind !== "file" || row.blobId === null) continue;
    bytes += row.size ?? 0n;
    blobRefs.set(row.blobId, (blobRefs.get(row.blobId) ?? 0) + 1);
  }
  await chargeUsed(tx, target.ownerId, bytes);
  for (const [blobId, count] of [...blobRefs].sort(([a], [b]) => a.localeCompare(b))) {
    await retainBlob(tx, blobId, count);
  }

  const parentKey = target.parentId ?? "";
  const tops: EntryRow[] = [];
  // New ids per (root, old id): a root copied on its own and inside another root is copied twice.
  const newIds = new Map<string, string>();
  const key = (root: string, id: string) => `${root}\u0000${id}`;
  for (const root of source.roots) {
    const id = newEntryId();
    await insertWithFreeName(tx, { ownerId: target.ownerId, parentKey, name: root.name }, (name) =>
      tx.entry.create({
        data: {
          id,
          ownerId: target.ownerId,
          parentId: target.parentId,
          parentKey,
          kind: root.kind,
          name,
          activeName: name,
          blobId: root.blobId,
          size: root.size,
          mime: root.mime,
        },
        select: { id: true },
      }),
    );
    newIds.set(key(root.id, root.id), id);
  }

  const descendants = rows.filter((r) => r.depth > 0);
  const data: Prisma.EntryCreateManyInput[] = [];
  for (const row of descendants) {
    const parentId = newIds.get(key(row.root, row.parentId!));
    if (!parentId) throw new Error(`copyTrees: parent ${row.parentId} of ${row.id} was not copied first`);
    const id = newEntryId();
    newIds.set(key(row.root, row.id), id);
    data.push({
      id,
      ownerId: target.ownerId,
      parentId,
      parentKey: parentId,
      kind: row.kind,
      name: row.name,
      activeName: row.name,
      blobId: row.blobId,
      size: row.size,
      mime: row.mime,
    });
  }
  for (let i = 0; i < data.length; i += INSERT_BATCH) {
    await tx.entry.createMany({ data: data.slice(i, i + INSERT_BATCH) });
  }

  const topIds = source.roots.map((r) => newIds.get(key(r.id, r.id))!);
  const created = await tx.$queryRaw<EntryRow[]>`
    SELECT ${ENTRY_COLUMNS} FROM Entry e LEFT JOIN \`Blob\` b ON b.id = e.blobId WHERE e.id IN (${Prisma.join(topIds)})`;
  const byId = new Map(created.map((r) => [r.id, r]));
  for (const id of topIds) tops.push(byId.get(id)!);
  return tops;
}

/** file.copy: `ids` (each with its subtree) into the folder `parentId` of the same drive. */
export async function copyEntries(ownerId: string, input: { ids: string[]; parentId?: string | null }): Promise<EntryDto[]> {
  const parentId = input.parentId ?? null;
  return withTreeLock(ownerId, async (tx) => {
    await assertParentFolder(tx, ownerId, parentId);
    const roots = await requireLiveEntries(tx, ownerId, input.ids);
    const chain = new Set(await ancestorIds(tx, ownerId, parentId));
    const intoItself = roots.find((r) => r.kind === "folder" && chain.has(r.id));
    if (intoItself) {
      throw new DomainError("BAD_REQUEST", `Cannot copy "${intoItself.name}" into itself or one of its subfolders`);
    }
    const ordered = [...new Set(input.ids)].map((id) => roots.find((r) => r.id === id)!);
    const tops = await copyTrees(tx, { ownerId, roots: ordered }, { ownerId, parentId });
    return tops.map(rowToDto);
  });
}
