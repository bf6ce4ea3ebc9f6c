import { nextRouteHandler } from "~/server/http/routes";

// POST /api/files under `next dev`; the custom server (src/server/main.ts) serves it without Next.
export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export const POST = nextRouteHandler("/api/files", "POST");
