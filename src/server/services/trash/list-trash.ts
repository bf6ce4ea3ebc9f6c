import { z } from "zod";
import { env } from "~/env";
import { Prisma, type ReadClient } from "~/server/db/client";
import { reads } from "~/server/db/reads";
import { DomainError } from "~/server/errors";
import type { EntryDto } from "~/server/services/entry-dto";
import { ENTRY_COLUMNS, rowToDto, type EntryRow } from "~/server/services/files/entry-rows";

// trash.list: the tops of the trashed subtrees (what the user deleted), newest first, in keyset
// pages on (trashedAt, id). A trashed folder shows how many entries and bytes come back with it.

export interface TrashItem extends EntryDto {
  trashedAt: Date;
  /** When the sweeper purges it (trashedAt + TRASH_RETENTION_DAYS). */
  purgeAt: Date;
  /** Entries in the trashed subtree, the item itself included. */
  entryCount: number;
  /** Bytes of the files in the trashed subtree. */
  totalSize: number;
}

export interface TrashPage {
  items: TrashItem[];
  nextCursor: string | null;
}

const cursorWire = z.object({ t: z.number().int(), i: z.string().min(1).max(64) });

function encode(row: { trashedAt: Date; id: string }): string {
  return Buffer.from(JSON.stringify({ t: row.trashedAt.getTime(), i: row.id })).toString("base64url");
}

function decode(raw: string): { trashedAt: Date; id: string } {
  try {
    const parsed = cursorWire.parse(JSON.parse(Buffer.from(raw, "base64url").toString("utf8")));
    return { trashedAt: new Date(parsed.t), id: parsed.i };
  } catch {
    throw new DomainError("BAD_REQUEST", "Invalid cursor");
  }
}

export function purgeDate(trashedAt: Date): Date {
  return new Date(trashedAt.getTime() + env.TRASH_RETENTION_DAYS * 86_400_000);
}

export async function listTrash(ownerId: string, input: { cursor?: string | null; limit?: number } = {}): Promise<TrashPage> {
  return reads.forUser(ownerId, (client) => trashPage(client, ownerId, input));
}

async function trashPage(client: ReadClient, ownerId: string, input: { cursor?: string | null; limit?: number }): Promise<TrashPage> {
  const limit = input.limit ?? 100;
  const after = input.cursor ? decode(input.cursor) : null;
  const keyset = after
    ? Prisma.sql`AND (e.trashedAt < ${after.trashedAt} OR (e.trashedAt = ${after.trashedAt} AND e.id < ${after.id}))`
    : Prisma.empty;
  const rows = await client.$queryRaw<EntryRow[]>`
    SELECT ${ENTRY_COLUMNS} FROM Entry e LEFT JOIN \`Blob\` b ON b.id = e.blobId
    WHERE e.ownerId = ${ownerId} AND e.trashedAt IS NOT NULL AND e.trashRootId = e.id ${keyset}
    ORDER BY e.trashedAt DESC, e.id DESC
    LIMIT ${limit + 1}`;
  const page = rows.slice(0, limit);
  const totals = new Map<string, { entryCount: number; totalSize: number }>();
  if (page.length > 0) {
    const sums = await client.$queryRaw<Array<{ trashRootId: string; n: bigint; bytes: bigint | null }>>`
      SELECT trashRootId, COUNT(*) AS n, CAST(SUM(IFNULL(size, 0)) AS SIGNED) AS bytes FROM Entry
      WHERE ownerId = ${ownerId} AND trashRootId IN (${Prisma.join(page.map((r) => r.id))})
      GROUP BY trashRootId`;
    for (const s of sums) totals.set(s.trashRootId, { entryCount: Number(s.n), totalSize: Number(s.bytes ?? 0) });
  }
  const items = page.map((row) => ({
    ...rowToDto(row),
    trashedAt: row.trashedAt!,
    purgeAt: purgeDate(row.trashedAt!),
    ...(totals.get(row.id) ?? { entryCount: 1, totalSize: Number(row.size ?? 0) }),
  }));
  const last = page[page.length - 1];
  return { items, nextCursor: rows.length > limit && last ? encode({ trashedAt: last.trashedAt!, id: last.id }) : null };
}
