import { reads } from "~/server/db/reads";
import { DomainError } from "~/server/errors";
import { listScope, type ListPage } from "~/server/services/files/list-entries";
import type { SortField, SortOrder } from "~/server/services/files/list-cursor";
import type { EntryRow } from "~/server/services/files/entry-rows";
import type { EntryDto } from "~/server/services/entry-dto";
import { findLiveShare, isUsedUp, pathInsideShare, unlockShare } from "./share-access";
import { notFound } from "~/server/services/files/tree";

// share.open (public): what a link shows. A file link shows the file; a folder link shows a page
// of the folder, or of a folder inside it (`parentId`, checked to lie inside the shared subtree).
// Entries are shown without the owner's tree around them: no parentId outside the link, no digest.

export interface SharedEntry {
  id: string;
  name: string;
  kind: "file" | "folder";
  size: number | null;
  mime: string | null;
  updatedAt: Date;
}

export interface OpenShareResult {
  share: {
    token: string;
    name: string;
    kind: "file" | "folder";
    sharedBy: string;
    expiresAt: Date | null;
    maxDownloads: number | null;
    downloadCount: number;
    hasPassword: boolean;
  };
  /** The entry being shown: the shared entry, or the folder inside it given as parentId. */
  entry: SharedEntry;
  /** Breadcrumbs from the shared entry down to `entry`. */
  path: SharedEntry[];
  /** For folders: one page of its contents (folders first, like file.list). */
  items: SharedEntry[] | null;
  nextCursor: string | null;
}

export interface OpenShareInput {
  token: string;
  password?: string | null;
  parentId?: string | null;
  cursor?: string | null;
  limit?: number;
  sort?: SortField;
  order?: SortOrder;
}

function shared(e: EntryRow | EntryDto): SharedEntry {
  const isFile = e.kind === "file";
  return {
    id: e.id,
    name: e.name,
    kind: e.kind,
    size: isFile && e.size !== null ? Number(e.size) : null,
    mime: isFile ? e.mime : null,
    updatedAt: e.updatedAt,
  };
}

export async function openShare(
  input: OpenShareInput,
  request: { cookieHeader: string | null },
): Promise<{ result: OpenShareResult; setCookie: string | null }> {
  // A visitor's view (db/reads.ts `anyone`): a replica, possibly behind by its lag; a link the
  // replica does not know yet is looked up on the primary. Downloads count on the primary.
  const opened = await reads.anyone((client) => findLiveShare(input.token, new Date(), client));
  const { share, root } = opened;
  const { setCookie } = await unlockShare(share, { password: input.password, cookieHeader: request.cookieHeader });
  if (isUsedUp(share)) throw notFound("This link does not exist or has expired");

  const parentId = input.parentId;
  const path = parentId ? await reads.anyone((client) => pathInsideShare(opened, parentId, client)) : [root];
  const entry = path[path.length - 1]!;
  let page: ListPage | null = null;
  if (entry.kind === "folder") {
    page = await reads.anyone((client) => listScope(client, { ownerId: share.ownerId, parentId: entry.id }, input));
  } else if (input.cursor) {
    throw new DomainError("BAD_REQUEST", "A file has no listing");
  }
  return {
    setCookie,
    result: {
      share: {
        token: share.token,
        name: root.name,
        kind: root.kind,
        sharedBy: opened.ownerUsername,
        expiresAt: share.expiresAt,
        maxDownloads: share.maxDownloads,
        downloadCount: share.downloadCount,
        hasPassword: share.passwordHash !== null,
      },
      entry: shared(entry),
      path: path.map(shared),
      items: page ? page.items.map(shared) : null,
      nextCursor: page?.nextCursor ?? null,
    },
  };
}
