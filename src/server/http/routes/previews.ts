import { noneMatchHits } from "../conditional";
import { safeContentHeaders } from "~/server/services/downloads/inline";
import { thumbnailFor } from "~/server/services/previews/thumbnails";
import { json, requireActor, type RawHandler } from "../raw";
import type { RawRoute } from "../router";

// GET /api/files/{id}/thumbnail: the listing's picture of one of the caller's images (WebP, at most
// 256 px). 200 with the image; 202 while the worker is still making it (it was asked for by this
// very request if nobody had); 404 for a file that has none (not an image, unreadable, too big).
// The page adds `?v=<sha256>`, so a thumbnail can be cached for good.

export const fileThumbnail: RawHandler = async (req, params) => {
  const actor = await requireActor(req);
  const thumb = await thumbnailFor(actor.userId, params.id ?? "");
  if (thumb.state === "pending") return json(202, { state: "pending" }, { "retry-after": "2" });
  if (thumb.state === "none") return json(404, { error: { code: "NOT_FOUND", message: "This file has no thumbnail" } });
  const etag = `"thumb-${thumb.sha256}"`;
  const headers: Record<string, string> = { etag, "cache-control": "private, max-age=604800", ...safeContentHeaders() };
  if (noneMatchHits(req.headers.get("if-none-match"), etag)) return { status: 304, headers };
  return {
    status: 200,
    headers: { ...headers, "content-type": "image/webp", "content-length": String(thumb.bytes) },
    body: req.method === "HEAD" ? null : await thumb.open(),
  };
};

export const routes: RawRoute[] = [{ methods: ["GET", "HEAD"], path: "/api/files/:id/thumbnail", handler: fileThumbnail }];
