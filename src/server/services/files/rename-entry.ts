import { DomainError } from "~/server/errors";
import type { EntryDto } from "~/server/services/entry-dto";
import { assertValidName } from "~/server/services/names";
import { isUniqueViolation } from "~/server/db/errors";
import { rowToDto } from "./entry-rows";
import { requireLiveEntry } from "./tree";
import { withTreeLock } from "./tree-tx";

// file.rename: one conditional UPDATE of a live entry, under the owner's tree lock (tree-tx.ts); the
// unique key turns a taken name into CONFLICT.

export async function renameEntry(ownerId: string, input: { id: string; name: string }): Promise<EntryDto> {
  const name = assertValidName(input.name);
  try {
    return await withTreeLock(ownerId, async (tx) => {
      const current = await requireLiveEntry(tx, ownerId, input.id, "update");
      if (current.name === name) return rowToDto(current);
      await tx.$executeRaw`
        UPDATE Entry SET name = ${name}, activeName = ${name}, updatedAt = NOW(3)
        WHERE id = ${input.id} AND ownerId = ${ownerId} AND trashedAt IS NULL`;
      return rowToDto(await requireLiveEntry(tx, ownerId, input.id));
    });
  } catch (e) {
    if (isUniqueViolation(e)) throw new DomainError("CONFLICT", `"${name}" already exists in this folder`);
    throw e;
  }
}
