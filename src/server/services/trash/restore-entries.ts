import { Prisma } from "~/server/db/client";
import type { EntryDto } from "~/server/services/entry-dto";
import { ENTRY_COLUMNS, rowToDto, type EntryRow } from "~/server/services/files/entry-rows";
import { insertWithFreeName } from "~/server/services/files/free-name";
import { notFound } from "~/server/services/files/tree";
import { withTreeLock, type Tx } from "~/server/services/files/tree-tx";

// trash.restore: a trashed subtree goes back where it was. If its folder is gone (purged) or is
// itself in the trash, it goes to the root instead. If its name was taken meanwhile, it comes
// back as "name (1)" (like an upload); its descendants keep their names, which nobody could take
// while their folder was in the trash.

/** The original folder when it is still the owner's live folder (shared lock), else null (the root). */
async function restoreTarget(tx: Tx, ownerId: string, parentId: string | null): Promise<string | null> {
  if (parentId === null) return null;
  const rows = await tx.$queryRaw<Array<{ kind: string; trashedAt: Date | null }>>`
    SELECT kind, trashedAt FROM Entry WHERE id = ${parentId} AND ownerId = ${ownerId} LOCK IN SHARE MODE`;
  const parent = rows[0];
  return parent && parent.kind === "folder" && parent.trashedAt === null ? parentId : null;
}

export async function restoreEntries(ownerId: string, input: { ids: string[] }): Promise<EntryDto[]> {
  const ids = [...new Set(input.ids)];
  return withTreeLock(ownerId, async (tx) => {
    const tops = await tx.$queryRaw<EntryRow[]>`
      SELECT ${ENTRY_COLUMNS} FROM Entry e LEFT JOIN \`Blob\` b ON b.id = e.blobId
      WHERE e.id IN (${Prisma.join(ids)}) AND e.ownerId = ${ownerId} AND e.trashedAt IS NOT NULL AND e.trashRootId = e.id
      ORDER BY e.id FOR UPDATE`;
    if (tops.length !== ids.length) throw notFound("Not in the trash");

    for (const top of tops) {
      const parentId = await restoreTarget(tx, ownerId, top.parentId);
      const parentKey = parentId ?? "";
      await tx.$executeRaw`
        UPDATE Entry SET trashedAt = NULL, trashRootId = NULL WHERE ownerId = ${ownerId} AND trashRootId = ${top.id} AND id <> ${top.id}`;
      await insertWithFreeName(tx, { ownerId, parentKey, name: top.name }, (name) =>
        tx.$executeRaw`
          UPDATE Entry SET parentId = ${parentId}, parentKey = ${parentKey}, name = ${name}, activeName = ${name},
            trashedAt = NULL, trashRootId = NULL
          WHERE id = ${top.id}`,
      );
    }

    const rows = await tx.$queryRaw<EntryRow[]>`
      SELECT ${ENTRY_COLUMNS} FROM Entry e LEFT JOIN \`Blob\` b ON b.id = e.blobId WHERE e.id IN (${Prisma.join(ids)})`;
    const byId = new Map(rows.map((r) => [r.id, r]));
    return ids.map((id) => rowToDto(byId.get(id)!));
  });
}
