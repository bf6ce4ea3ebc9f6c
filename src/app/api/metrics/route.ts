import { nextRouteHandler } from "~/server/http/routes";

// Served by the custom server (src/server/main.ts); this file is for `next dev`. Contract: docs/API.md.
export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export const GET = nextRouteHandler("/api/metrics", "GET");
