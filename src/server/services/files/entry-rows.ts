import { Prisma } from "~/server/db/generated/client";
import type { Entry } from "~/server/db/generated/client";
import { toEntryDto, type EntryDto } from "~/server/services/entry-dto";

// Entries read with raw SQL (recursive CTEs, keyset pages) come back as plain rows; these helpers
// select the same columns Prisma would and turn them into the one wire shape (toEntryDto).

/** Every Entry column plus the blob's digest; use with `FROM Entry e LEFT JOIN Blob b ON b.id = e.blobId`. */
export const ENTRY_COLUMNS = Prisma.raw(
  "e.id, e.ownerId, e.parentId, e.parentKey, e.kind, e.name, e.activeName, e.blobId, e.size, e.mime, " +
    "e.trashedAt, e.trashRootId, e.createdAt, e.updatedAt, b.sha256 AS blobSha256",
);

export type EntryRow = Entry & { blobSha256: string | null };

export function rowToDto(row: EntryRow): EntryDto {
  const { blobSha256, ...entry } = row;
  return toEntryDto({ ...entry, blob: blobSha256 === null ? null : { sha256: blobSha256 } });
}
