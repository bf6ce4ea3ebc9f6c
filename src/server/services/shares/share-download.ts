import { reads } from "~/server/db/reads";
import { DomainError } from "~/server/errors";
import { fileTargetById } from "~/server/services/downloads/targets";
import type { DeliveryHook, DownloadTarget } from "~/server/services/downloads/targets";
import { notFound } from "~/server/services/files/tree";
import { grantCookie, hasGrantCookie } from "./cookies";
import { countDownload, findLiveShare, isUsedUp, pathInsideShare, unlockShare } from "./share-access";

// GET|HEAD /api/s/{token}/content[?id=<file inside a shared folder>]: the bytes of a shared file
// with the same ranges, validators and disposition as any download, plus the link's own rules.
//
// Counting (the rule the download limit rests on): a GET that delivers the file from its first
// byte (no Range, or a Range starting at byte 0) is one download, counted with one conditional
// UPDATE before any byte is sent (countDownload): with maxDownloads = 1, of any number of
// concurrent requests exactly one is served and the others get 404. HEAD, 304 and 416 answers
// are never counted.
// Other ranges (resuming, or a download manager's later segments) are not counted. On a link
// without a limit they are always served. On a limited link they are served while the limit has
// room left, or with the 24-hour download grant cookie the counted download set for that file:
// the browser that used the last allowed download can still resume it, while nobody can fetch a
// used-up file range by range.

export async function shareDownload(
  token: string,
  fileId: string | null,
  request: { cookieHeader: string | null },
): Promise<{ target: DownloadTarget; onDelivery: DeliveryHook }> {
  const opened = await findLiveShare(token);
  const { share } = opened;
  await unlockShare(share, { cookieHeader: request.cookieHeader });

  let target: DownloadTarget;
  if (fileId === null || fileId === share.entryId) {
    if (opened.root.kind !== "file") throw new DomainError("BAD_REQUEST", "This link is a folder: choose a file with ?id=");
    target = await fileTargetById(share.entryId);
  } else {
    // The link itself was read on the primary (findLiveShare: it decides the count); which file
    // inside it is a lookup, done where visitors' reads go (db/reads.ts).
    const path = await reads.anyone((client) => pathInsideShare(opened, fileId, client));
    if (path[path.length - 1]!.kind !== "file") throw new DomainError("BAD_REQUEST", "Folders cannot be downloaded");
    target = await fileTargetById(fileId);
  }

  const limited = share.maxDownloads !== null;
  const onDelivery: DeliveryHook = async ({ counted }) => {
    if (counted) {
      if (!(await countDownload(share.id))) throw notFound("This link does not exist or has expired");
      return limited ? { "set-cookie": grantCookie(share, target.entryId) } : undefined;
    }
    if (limited && isUsedUp(share) && !hasGrantCookie(share, target.entryId, request.cookieHeader)) {
      throw notFound("This link does not exist or has expired");
    }
    return undefined;
  };
  return { target, onDelivery };
}
