import { z } from "zod";
import { DomainError } from "~/server/errors";

// Opaque keyset cursors for file.list: where the previous page ended, as (phase, sort key, id).
// Pages are keyset ranges over an index, never OFFSET: entries added or removed elsewhere in the
// folder between two pages neither repeat nor push existing entries out of the listing.

export type SortField = "name" | "size" | "updatedAt";
export type SortOrder = "asc" | "desc";
/** Folders are listed before files; a cursor says which of the two runs it stopped in. */
export type Phase = "folder" | "file";

export interface ListCursor {
  sort: SortField;
  order: SortOrder;
  phase: Phase;
  /** The sort key of the last entry served: a name, a size, or updatedAt in epoch milliseconds. */
  key: string | number;
  id: string;
}

const wire = z.object({
  v: z.literal(1),
  s: z.enum(["name", "size", "updatedAt"]),
  o: z.enum(["asc", "desc"]),
  p: z.enum(["folder", "file"]),
  k: z.union([z.string().max(1024), z.number().int().min(0)]),
  i: z.string().min(1).max(64),
});

export function encodeCursor(c: ListCursor): string {
  return Buffer.from(JSON.stringify({ v: 1, s: c.sort, o: c.order, p: c.phase, k: c.key, i: c.id })).toString("base64url");
}

const invalid = () => new DomainError("BAD_REQUEST", "Invalid cursor");

export function decodeCursor(raw: string, expected: { sort: SortField; order: SortOrder }): ListCursor {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(raw, "base64url").toString("utf8"));
  } catch {
    throw invalid();
  }
  const parsed = wire.safeParse(value);
  if (!parsed.success) throw invalid();
  const { s, o, p, k, i } = parsed.data;
  if (s !== expected.sort || o !== expected.order) {
    throw new DomainError("BAD_REQUEST", "The cursor belongs to a listing with another sort order");
  }
  return { sort: s, order: o, phase: p, key: k, id: i };
}
