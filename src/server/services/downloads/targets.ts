import type { ReadClient } from "~/server/db/client";
import { reads } from "~/server/db/reads";
import { DomainError } from "~/server/errors";
import { hasSignature, readExpiry, signatureMatches } from "~/server/auth/signed-url";
import { isAccountDisabled } from "~/server/services/accounts/status";
import { notFound } from "~/server/services/files/tree";

// Which bytes a download request may have: the caller's own live file, or a live file named by a
// valid signed URL (no credentials needed). Someone else's file and a missing one are the same
// NOT_FOUND; a bad or expired signature is FORBIDDEN (see auth/signed-url.ts).

/** One file as the download responder (http/respond-file.ts) needs it. */
export interface DownloadTarget {
  entryId: string;
  /** The file's owner (signed-URL downloads count against the owner's limits). */
  ownerId?: string;
  name: string;
  mime: string | null;
  size: number;
  sha256: string;
  storageKey: string;
  driver: string;
  /** Last-Modified: an entry's content never changes after it was created. */
  createdAt: Date;
}

/**
 * Called once per request before any byte is sent: `counted` is true for a GET that delivers the
 * file from its first byte (no Range, or a Range starting at 0). May throw (a used-up share link)
 * and may return headers to add (a cookie).
 */
export type DeliveryHook = (delivery: { counted: boolean }) => Promise<Record<string, string> | void>;

interface FileRow {
  id: string;
  ownerId: string;
  kind: string;
  name: string;
  mime: string | null;
  createdAt: Date;
  sha256: string | null;
  blobSize: bigint | null;
  storageKey: string | null;
  driver: string | null;
}

async function liveFileRow(client: ReadClient, id: string): Promise<FileRow | null> {
  const rows = await client.$queryRaw<FileRow[]>`
    SELECT e.id, e.ownerId, e.kind, e.name, e.mime, e.createdAt,
           b.sha256, b.size AS blobSize, b.storageKey, b.driver
    FROM Entry e LEFT JOIN \`Blob\` b ON b.id = e.blobId
    WHERE e.id = ${id} AND e.trashedAt IS NULL`;
  return rows[0] ?? null;
}

/** A visitor's lookup (db/reads.ts `anyone`): a replica, and the primary when the replica has no such row yet. */
async function liveFileRowForVisitor(id: string): Promise<FileRow | null> {
  return reads
    .anyone(async (client) => {
      const row = await liveFileRow(client, id);
      if (!row) throw notFound();
      return row;
    })
    .catch((e: unknown) => {
      if (e instanceof DomainError && e.code === "NOT_FOUND") return null;
      throw e;
    });
}

export function toTarget(row: FileRow): DownloadTarget {
  if (row.kind !== "file" || row.sha256 === null || row.storageKey === null || row.driver === null || row.blobSize === null) {
    throw new DomainError("BAD_REQUEST", "Folders cannot be downloaded");
  }
  return {
    entryId: row.id,
    ownerId: row.ownerId,
    name: row.name,
    mime: row.mime,
    size: Number(row.blobSize),
    sha256: row.sha256,
    storageKey: row.storageKey,
    driver: row.driver,
    createdAt: row.createdAt,
  };
}

/** A live file of `ownerId`, as a download target. */
export async function ownFileTarget(ownerId: string, id: string): Promise<DownloadTarget> {
  // The owner's download sees the owner's writes (an upload a moment ago): a causal replica read.
  const row = await reads.forUser(ownerId, (client) => liveFileRow(client, id));
  if (!row || row.ownerId !== ownerId) throw notFound();
  return toTarget(row);
}

/** Any user's entry by id, for share downloads that have already checked the id is inside the link. */
export async function fileTargetById(id: string): Promise<DownloadTarget> {
  const row = await liveFileRowForVisitor(id);
  if (!row) throw notFound();
  return toTarget(row);
}

export { hasSignature };

/**
 * The file a signed URL names. The expiry is checked from the URL alone; the signature needs the
 * entry's content digest, so a missing entry (deleted since the link was made, or never there) is
 * indistinguishable from a forged link: both FORBIDDEN, revealing nothing about which ids exist.
 */
export async function signedFileTarget(id: string, query: URLSearchParams, now = new Date()): Promise<DownloadTarget> {
  const expires = readExpiry(query, now);
  if (expires === "expired") throw new DomainError("FORBIDDEN", "This download link has expired");
  const invalid = () => new DomainError("FORBIDDEN", "This download link is not valid");
  if (expires === "invalid") throw invalid();
  const row = await liveFileRowForVisitor(id);
  if (!row || row.sha256 === null || !signatureMatches(query, { entryId: row.id, sha256: row.sha256 }, expires)) throw invalid();
  // the links of a disabled account stop with its tokens
  if (await isAccountDisabled(row.ownerId)) throw invalid();
  return toTarget(row);
}
