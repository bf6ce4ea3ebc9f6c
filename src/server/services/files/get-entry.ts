import { reads } from "~/server/db/reads";
import { DomainError } from "~/server/errors";
import type { EntryDto } from "~/server/services/entry-dto";
import { signedContentUrl, MAX_EXPIRES_IN_SECONDS } from "~/server/auth/signed-url";
import { rowToDto } from "./entry-rows";
import { ancestry, notFound, requireLiveEntry } from "./tree";

// file.get, file.path and file.downloadUrl: reads of one live entry of the caller's drive.

export async function getEntry(ownerId: string, id: string): Promise<EntryDto> {
  return rowToDto(await reads.forUser(ownerId, (client) => requireLiveEntry(client, ownerId, id)));
}

/** Breadcrumbs: the entry's ancestors root-first, ending with the entry itself. */
export async function entryPath(ownerId: string, id: string): Promise<EntryDto[]> {
  const chain = await reads.forUser(ownerId, (client) => ancestry(client, ownerId, id));
  const self = chain[chain.length - 1];
  if (!self || self.id !== id || chain.some((e) => e.trashedAt !== null)) throw notFound();
  return chain.map(rowToDto);
}

/** A URL that downloads the file without credentials until it expires (see auth/signed-url.ts). */
export async function createDownloadUrl(
  ownerId: string,
  input: { id: string; expiresIn?: number },
  now = new Date(),
): Promise<{ url: string; expiresAt: Date }> {
  const expiresIn = input.expiresIn ?? 3600;
  if (!Number.isInteger(expiresIn) || expiresIn < 1 || expiresIn > MAX_EXPIRES_IN_SECONDS) {
    throw new DomainError("BAD_REQUEST", `expiresIn must be 1-${MAX_EXPIRES_IN_SECONDS} seconds`);
  }
  const entry = await reads.forUser(ownerId, (client) => requireLiveEntry(client, ownerId, input.id));
  if (entry.kind !== "file" || entry.blobSha256 === null) throw new DomainError("BAD_REQUEST", "Folders cannot be downloaded");
  return signedContentUrl({ entryId: entry.id, sha256: entry.blobSha256 }, expiresIn, now);
}
