import type { Tx } from "~/server/db/client";
import { isUniqueViolation } from "~/server/db/errors";
import { DomainError } from "~/server/errors";
import { entryDtoInclude, type EntryWithBlob } from "~/server/services/entry-dto";
import { assertValidName } from "~/server/services/names";
import { insertWithFreeName } from "./free-name";

// Creating a file entry inside a transaction: the one place uploads, 秒传, copies and share saves
// turn a blob into something visible in a user's drive. It neither retains the blob nor charges
// quota: the caller does both in the same transaction (retainBlob/commitBlob, chargeUsed/commitReserved).

/**
 * The folder `parentId` (null = root) must be the owner's live folder; NOT_FOUND otherwise (someone
 * else's folder looks exactly like a missing one). Takes a shared lock on the folder row, so a trash
 * or purge of it waits for this transaction (callers hold the owner's tree lock, which already keeps
 * those out; the row lock keeps the guarantee local to this check).
 */
export async function assertParentFolder(tx: Tx, ownerId: string, parentId: string | null | undefined): Promise<void> {
  if (parentId == null) return;
  const rows = await tx.$queryRaw<Array<{ kind: string; trashedAt: Date | null }>>`
    SELECT kind, trashedAt FROM Entry WHERE id = ${parentId} AND ownerId = ${ownerId} LOCK IN SHARE MODE`;
  const row = rows[0];
  if (!row || row.trashedAt !== null) throw new DomainError("NOT_FOUND", "Folder not found");
  if (row.kind !== "folder") throw new DomainError("BAD_REQUEST", "The parent is a file, not a folder");
}

export interface InsertFileInput {
  ownerId: string;
  parentId: string | null | undefined;
  name: string;
  blobId: string;
  size: number | bigint;
  mime: string | null;
  /** 'suffix': a taken name becomes "name (1).ext", "name (2).ext"...; 'conflict': CONFLICT. */
  onClash: "suffix" | "conflict";
}

/**
 * Inserts a live file entry. The parent must be the owner's live folder (assertParentFolder). A name
 * clash on the unique (ownerId, parentKey, activeName) key is resolved per `onClash`; a concurrent
 * insert of the same name is caught as a unique violation and the next free name is tried. The
 * caller holds the owner's tree lock (tree-tx.ts) and has committed or retained the blob.
 */
export async function insertFileEntry(tx: Tx, input: InsertFileInput): Promise<EntryWithBlob> {
  assertValidName(input.name);
  const parentId = input.parentId ?? null;
  await assertParentFolder(tx, input.ownerId, parentId);
  const parentKey = parentId ?? "";
  const insert = (name: string) =>
    tx.entry.create({
      data: {
        ownerId: input.ownerId,
        parentId,
        parentKey,
        kind: "file",
        name,
        activeName: name,
        blobId: input.blobId,
        size: BigInt(input.size),
        mime: input.mime,
      },
      include: entryDtoInclude,
    });
  if (input.onClash === "suffix") return insertWithFreeName(tx, { ownerId: input.ownerId, parentKey, name: input.name }, insert);
  try {
    return await insert(input.name);
  } catch (e) {
    if (isUniqueViolation(e)) throw new DomainError("CONFLICT", `"${input.name}" already exists in this folder`);
    throw e;
  }
}
