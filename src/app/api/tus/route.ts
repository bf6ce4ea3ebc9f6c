import { nextRouteHandler } from "~/server/http/routes";

// tus creation (POST /api/tus) and OPTIONS under `next dev`; the custom server serves them directly.
export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export const OPTIONS = nextRouteHandler("/api/tus", "OPTIONS");
export const POST = nextRouteHandler("/api/tus", "POST");
