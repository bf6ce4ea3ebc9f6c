import { toRouteHandler } from "~/server/http/raw";
import { fileContent } from "~/server/http/routes/downloads";

// GET|HEAD /api/files/{id}/content under `next dev`; the custom server serves it without Next.
export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export const GET = toRouteHandler(fileContent);
export const HEAD = GET;
