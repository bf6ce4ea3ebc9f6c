import type { Entry } from "~/server/db/generated/client";

// The one shape an entry has on the wire (API.md): sizes as numbers, sha256 from the blob, null for
// folders. Load entries with `include: entryDtoInclude` so the blob's digest comes along.

export const entryDtoInclude = { blob: { select: { sha256: true } } } as const;

export type EntryWithBlob = Entry & { blob: { sha256: string } | null };

export interface EntryDto {
  id: string;
  name: string;
  kind: "file" | "folder";
  parentId: string | null;
  size: number | null;
  sha256: string | null;
  mime: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export function toEntryDto(entry: EntryWithBlob): EntryDto {
  const isFile = entry.kind === "file";
  return {
    id: entry.id,
    name: entry.name,
    kind: entry.kind,
    parentId: entry.parentId,
    size: isFile && entry.size !== null ? Number(entry.size) : null,
    sha256: isFile ? (entry.blob?.sha256 ?? null) : null,
    mime: isFile ? entry.mime : null,
    createdAt: entry.createdAt,
    updatedAt: entry.updatedAt,
  };
}
