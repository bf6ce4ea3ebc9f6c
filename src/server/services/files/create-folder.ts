import { DomainError } from "~/server/errors";
import { entryDtoInclude, toEntryDto, type EntryDto } from "~/server/services/entry-dto";
import { assertParentFolder } from "~/server/services/files/insert-file";
import { assertValidName } from "~/server/services/names";
import { isUniqueViolation } from "~/server/db/errors";
import { withTreeLock } from "./tree-tx";

// file.mkdir. The unique key (ownerId, parentKey, activeName) decides clashes, so two concurrent
// mkdirs of one name cannot both win: the loser's INSERT fails and answers CONFLICT.

export async function createFolder(ownerId: string, input: { parentId?: string | null; name: string }): Promise<EntryDto> {
  const name = assertValidName(input.name);
  const parentId = input.parentId ?? null;
  try {
    // Under the owner's tree lock (tree-tx.ts): a trash of the parent runs wholly before (the parent
    // is gone: NOT_FOUND) or wholly after (the new folder goes to the trash with it).
    const entry = await withTreeLock(ownerId, async (tx) => {
      await assertParentFolder(tx, ownerId, parentId);
      return tx.entry.create({
        data: { ownerId, parentId, parentKey: parentId ?? "", kind: "folder", name, activeName: name },
        include: entryDtoInclude,
      });
    });
    return toEntryDto(entry);
  } catch (e) {
    if (isUniqueViolation(e)) throw new DomainError("CONFLICT", `"${name}" already exists in this folder`);
    throw e;
  }
}
