import type { EntryDto } from "~/server/services/entry-dto";
import { copyTrees } from "~/server/services/files/copy-entries";
import { rowToDto } from "~/server/services/files/entry-rows";
import { assertParentFolder } from "~/server/services/files/insert-file";
import { notFound, requireLiveEntry } from "~/server/services/files/tree";
import { withTreeLock } from "~/server/services/files/tree-tx";
import { countDownload, findLiveShare, unlockShare } from "./share-access";

// share.save: the shared entry (with its subtree) becomes a copy in the caller's drive, without
// moving a byte: the same blobs gain references and the caller's quota is charged. A save counts
// as one download of the link (it gives the caller the content as surely as a download does), in
// the same transaction, so a failed save (quota) does not use up the link.

export async function saveShare(
  actorUserId: string,
  input: { token: string; password?: string | null; parentId?: string | null },
  request: { cookieHeader: string | null },
): Promise<{ entry: EntryDto; setCookie: string | null }> {
  const opened = await findLiveShare(input.token);
  const { setCookie } = await unlockShare(opened.share, { password: input.password, cookieHeader: request.cookieHeader });
  const parentId = input.parentId ?? null;
  const entry = await withTreeLock(actorUserId, async (tx) => {
    await assertParentFolder(tx, actorUserId, parentId);
    if (!(await countDownload(opened.share.id, tx))) throw notFound("This link does not exist or has expired");
    // The shared entry may have been trashed since it was looked up.
    const root = await requireLiveEntry(tx, opened.share.ownerId, opened.share.entryId, "share");
    const [copy] = await copyTrees(tx, { ownerId: opened.share.ownerId, roots: [root] }, { ownerId: actorUserId, parentId });
    return rowToDto(copy!);
  });
  return { entry, setCookie };
}
