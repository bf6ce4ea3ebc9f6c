import { toRouteHandler } from "~/server/http/raw";
import { sharedContent } from "~/server/http/routes/downloads";

// GET|HEAD /api/s/{token}/content under `next dev`; the custom server serves it without Next.
export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export const GET = toRouteHandler(sharedContent);
export const HEAD = GET;
