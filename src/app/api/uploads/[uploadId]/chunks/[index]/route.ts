import { nextRouteHandler } from "~/server/http/routes";

// PUT /api/uploads/{uploadId}/chunks/{index} under `next dev`; the custom server serves it directly.
export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export const PUT = nextRouteHandler("/api/uploads/:uploadId/chunks/:index", "PUT");
