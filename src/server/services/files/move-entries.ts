import { Prisma } from "~/server/db/client";
import { DomainError } from "~/server/errors";
import type { EntryDto } from "~/server/services/entry-dto";
import { assertParentFolder } from "~/server/services/files/insert-file";
import { isUniqueViolation } from "~/server/db/errors";
import { takeTokens } from "~/server/services/rate-limit";
import { ENTRY_COLUMNS, rowToDto, type EntryRow } from "./entry-rows";
import { ancestorIds, requireLiveEntries } from "./tree";
import { withTreeLock, type Tx } from "./tree-tx";

// file.move: all of `ids` into one folder, all or nothing. A folder cannot go into itself or below
// itself (BAD_REQUEST); a name taken in the target, or two moved entries sharing a name, is
// CONFLICT and nothing moves. Runs under the owner's tree lock (see tree-tx.ts), so it cannot
// interleave with a trash of the target or of a moved folder.

export async function moveEntries(ownerId: string, input: { ids: string[]; parentId?: string | null }): Promise<EntryDto[]> {
  const parentId = input.parentId ?? null;
  const parentKey = parentId ?? "";
  // One token per entry moved (services/rate-limit.ts), taken before any lock.
  await takeTokens("tree", `user:${ownerId}`, new Set(input.ids).size);
  try {
    return await withTreeLock(ownerId, async (tx) => {
      await assertParentFolder(tx, ownerId, parentId);
      const entries = await requireLiveEntries(tx, ownerId, input.ids);

      const chain = new Set(await ancestorIds(tx, ownerId, parentId));
      const intoItself = entries.find((e) => e.kind === "folder" && chain.has(e.id));
      if (intoItself) {
        throw new DomainError("BAD_REQUEST", `Cannot move "${intoItself.name}" into itself or one of its subfolders`);
      }

      const moving = entries.filter((e) => e.parentKey !== parentKey);
      if (moving.length > 0) {
        await assertNamesFree(tx, ownerId, parentKey, moving);
        const ids = moving.map((e) => e.id);
        await tx.$executeRaw`
          UPDATE Entry SET parentId = ${parentId}, parentKey = ${parentKey}, updatedAt = NOW(3)
          WHERE id IN (${Prisma.join(ids)}) AND ownerId = ${ownerId} AND trashedAt IS NULL`;
      }
      const rows = await tx.$queryRaw<EntryRow[]>`
        SELECT ${ENTRY_COLUMNS} FROM Entry e LEFT JOIN \`Blob\` b ON b.id = e.blobId
        WHERE e.id IN (${Prisma.join(entries.map((e) => e.id))})`;
      const byId = new Map(rows.map((r) => [r.id, r]));
      return entries.map((e) => rowToDto(byId.get(e.id)!));
    });
  } catch (e) {
    // A name taken between the check and the UPDATE (an upload landing in the target meanwhile).
    if (isUniqueViolation(e)) throw new DomainError("CONFLICT", "A file or folder with that name already exists there");
    throw e;
  }
}

async function assertNamesFree(tx: Tx, ownerId: string, parentKey: string, moving: EntryRow[]) {
  const seen = new Set<string>();
  for (const e of moving) {
    if (seen.has(e.name)) throw new DomainError("CONFLICT", `Two of the entries are named "${e.name}"`);
    seen.add(e.name);
  }
  const taken = await tx.$queryRaw<Array<{ activeName: string }>>`
    SELECT activeName FROM Entry
    WHERE ownerId = ${ownerId} AND parentKey = ${parentKey} AND activeName IN (${Prisma.join([...seen])})`;
  if (taken.length > 0) {
    throw new DomainError("CONFLICT", `"${taken[0]!.activeName}" already exists in the target folder`, {
      details: { names: taken.map((t) => t.activeName) },
    });
  }
}
