import { respondWithFile } from "../respond-file";
import { hasSignature, ownFileTarget, signedFileTarget } from "~/server/services/downloads/targets";
import { shareDownload } from "~/server/services/shares/share-download";
import { clientAddress } from "../client-address";
import { requireActor, type RawHandler, type RawRequest } from "../raw";
import type { RawRoute } from "../router";

// Downloads. GET and HEAD, served from node:http by the custom server and from the Next route files
// src/app/api/files/[id]/content and src/app/api/s/[token]/content (same handlers).
//
// /api/files/{id}/content: the caller's own file (session cookie or bearer token), or anyone with a
//   signed URL from file.downloadUrl (`?expires=&signature=`, checked instead of credentials;
//   expired or forged: 403).
// /api/s/{token}/content[?id=]: a shared file (see services/shares/share-download.ts for the
//   password cookie and the download counting rule).
// Download limits count per user for own files and signed URLs (the URL's owner), per client
// address for share links. Contract: docs/API.md.

/** nginx (deploy/nginx) sets this on every request it forwards; a client's own is replaced there. */
const accelAvailable = (req: RawRequest) => req.headers.get("x-filestore-accel") === "1";

export const fileContent: RawHandler = async (req, params) => {
  const id = params.id ?? "";
  const inline = wantsInline(req.url.searchParams);
  if (hasSignature(req.url.searchParams)) {
    const target = await signedFileTarget(id, req.url.searchParams);
    return respondWithFile(req, target, undefined, {
      inline,
      accelAvailable: accelAvailable(req),
      downloader: target.ownerId ? `user:${target.ownerId}` : undefined,
    });
  }
  const actor = await requireActor(req);
  const target = await ownFileTarget(actor.userId, id);
  return respondWithFile(req, target, undefined, { inline, accelAvailable: accelAvailable(req), downloader: `user:${actor.userId}` });
};

export const sharedContent: RawHandler = async (req, params) => {
  const { target, onDelivery } = await shareDownload(params.token ?? "", req.url.searchParams.get("id"), {
    cookieHeader: req.headers.get("cookie"),
  });
  const address = clientAddress(req.headers);
  return respondWithFile(req, target, onDelivery, {
    inline: wantsInline(req.url.searchParams),
    accelAvailable: accelAvailable(req),
    downloader: address === "unknown" ? undefined : `addr:${address}`,
  });
};

/** `?inline=1`: shown in the browser when its type is safe (services/downloads/inline.ts decides). */
function wantsInline(query: URLSearchParams): boolean {
  return query.get("inline") === "1";
}

export const routes: RawRoute[] = [
  { methods: ["GET", "HEAD"], path: "/api/files/:id/content", handler: fileContent },
  { methods: ["GET", "HEAD"], path: "/api/s/:token/content", handler: sharedContent },
];
