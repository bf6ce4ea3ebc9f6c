import { rawRoutes } from "~/server/http/routes";
import { toRouteHandler } from "~/server/http/raw";

// POST /api/files under `next dev`; the custom server (src/server/main.ts) serves it without Next.
export const runtime = "nodejs";
export const dynamic = "force-dynamic";

const route = rawRoutes.find((r) => r.path === "/api/files" && r.methods.includes("POST"))!;
export const POST = toRouteHandler(route.handler);
