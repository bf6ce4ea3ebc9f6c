import { nextRouteHandler } from "~/server/http/routes";

// GET|HEAD /api/files/{id}/thumbnail under `next dev`; the custom server serves it without Next.
export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export const GET = nextRouteHandler("/api/files/:id/thumbnail", "GET");
export const HEAD = GET;
