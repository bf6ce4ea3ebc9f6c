import { rawRoutes } from "~/server/http/routes";
import { toRouteHandler } from "~/server/http/raw";

// tus creation (POST /api/tus) and OPTIONS under `next dev`; the custom server serves them directly.
export const runtime = "nodejs";
export const dynamic = "force-dynamic";

const handler = (method: string) => toRouteHandler(rawRoutes.find((r) => r.path === "/api/tus" && r.methods.includes(method))!.handler);
export const OPTIONS = handler("OPTIONS");
export const POST = handler("POST");
