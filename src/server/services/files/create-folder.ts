import { db } from "~/server/db/client";
import { DomainError } from "~/server/errors";
import { entryDtoInclude, toEntryDto, type EntryDto } from "~/server/services/entry-dto";
import { assertParentFolder } from "~/server/services/files/insert-file";
import { assertValidName } from "~/server/services/names";
import { isUniqueViolation } from "./db-errors";

// file.mkdir. The unique key (ownerId, parentKey, activeName) decides clashes, so two concurrent
// mkdirs of one name cannot both win: the loser's INSERT fails and answers CONFLICT.

export async function createFolder(ownerId: string, input: { parentId?: string | null; name: string }): Promise<EntryDto> {
  const name = assertValidName(input.name);
  const parentId = input.parentId ?? null;
  try {
    const entry = await db.$transaction(async (tx) => {
      // Shared lock on the parent: a concurrent trash of it waits until this folder exists, then
      // takes it along.
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
