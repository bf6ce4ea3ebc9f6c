import { rawRoutes } from "~/server/http/routes";
import { toRouteHandler } from "~/server/http/raw";

// PUT /api/uploads/{uploadId}/chunks/{index} under `next dev`; the custom server serves it directly.
export const runtime = "nodejs";
export const dynamic = "force-dynamic";

const route = rawRoutes.find((r) => r.path === "/api/uploads/:uploadId/chunks/:index")!;
export const PUT = toRouteHandler(route.handler);
