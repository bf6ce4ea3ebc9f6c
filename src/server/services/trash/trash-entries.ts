import { Prisma } from "~/server/db/client";
import { requireLiveEntries, topmostOnly } from "~/server/services/files/tree";
import { withTreeLock } from "~/server/services/files/tree-tx";

// file.delete: whole subtrees go to the trash in one step. The top of each subtree leaves its
// folder's namespace (activeName = NULL, so the name is free again and the trash may hold any
// number of same-named items); every live descendant is marked with the same trashedAt and
// trashRootId = the top, keeping its activeName so the subtree comes back intact on restore. The
// descendants are found and updated by ONE statement with a recursive CTE, under the owner's tree
// lock (tree-tx.ts), so a concurrent move cannot slip an entry in or out half-way.

export async function trashEntries(ownerId: string, input: { ids: string[] }, now = new Date()): Promise<{ trashed: number }> {
  return withTreeLock(ownerId, async (tx) => {
    const entries = await requireLiveEntries(tx, ownerId, input.ids);
    // Deleting a folder and something inside it: the folder's subtree covers the inner one.
    const tops = await topmostOnly(tx, ownerId, entries);
    const topIds = tops.map((t) => t.id);
    let trashed = 0;
    for (const topId of topIds) {
      trashed += await tx.$executeRaw`
        UPDATE Entry SET trashedAt = ${now}, trashRootId = ${topId}
        WHERE id IN (
          WITH RECURSIVE sub (id) AS (
            SELECT id FROM Entry WHERE id = ${topId} AND ownerId = ${ownerId} AND trashedAt IS NULL
            UNION ALL
            SELECT c.id FROM Entry c JOIN sub ON c.parentId = sub.id WHERE c.ownerId = ${ownerId} AND c.trashedAt IS NULL
          )
          SELECT id FROM sub
        )`;
    }
    if (topIds.length > 0) {
      await tx.$executeRaw`UPDATE Entry SET activeName = NULL WHERE id IN (${Prisma.join(topIds)})`;
    }
    return { trashed };
  });
}
