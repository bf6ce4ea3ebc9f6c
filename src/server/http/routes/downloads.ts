import { respondWithFile } from "~/server/services/downloads/respond";
import { hasSignature, ownFileTarget, signedFileTarget } from "~/server/services/downloads/targets";
import { shareDownload } from "~/server/services/shares/share-download";
import { requireActor, type RawHandler } from "../raw";
import type { RawRoute } from "../router";

// Downloads. GET and HEAD, served from node:http by the custom server and from the Next route files
// src/app/api/files/[id]/content and src/app/api/s/[token]/content (same handlers).
//
// /api/files/{id}/content: the caller's own file (session cookie or bearer token), or anyone with a
//   signed URL from file.downloadUrl (`?expires=&signature=`, checked instead of credentials;
//   expired or forged: 403).
// /api/s/{token}/content[?id=]: a shared file (see services/shares/share-download.ts for the
//   password cookie and the download counting rule).

export const fileContent: RawHandler = async (req, params) => {
  const id = params.id ?? "";
  const target = hasSignature(req.url.searchParams)
    ? await signedFileTarget(id, req.url.searchParams)
    : await ownFileTarget((await requireActor(req)).userId, id);
  return respondWithFile(req, target, undefined, { inline: wantsInline(req.url.searchParams) });
};

export const sharedContent: RawHandler = async (req, params) => {
  const { target, onDelivery } = await shareDownload(params.token ?? "", req.url.searchParams.get("id"), {
    cookieHeader: req.headers.get("cookie"),
  });
  return respondWithFile(req, target, onDelivery, { inline: wantsInline(req.url.searchParams) });
};

/** `?inline=1`: shown in the browser when its type is safe (services/downloads/inline.ts decides). */
function wantsInline(query: URLSearchParams): boolean {
  return query.get("inline") === "1";
}

export const routes: RawRoute[] = [
  { methods: ["GET", "HEAD"], path: "/api/files/:id/content", handler: fileContent },
  { methods: ["GET", "HEAD"], path: "/api/s/:token/content", handler: sharedContent },
];
