import { rawRoutes } from "~/server/http/routes";
import { toRouteHandler } from "~/server/http/raw";

// tus HEAD, PATCH, DELETE (and POST with X-HTTP-Method-Override) on /api/tus/{id} under `next dev`;
// the custom server serves them directly.
export const runtime = "nodejs";
export const dynamic = "force-dynamic";

const handler = (method: string) =>
  toRouteHandler(rawRoutes.find((r) => r.path === "/api/tus/:id" && r.methods.includes(method))!.handler);
export const OPTIONS = handler("OPTIONS");
export const HEAD = handler("HEAD");
export const PATCH = handler("PATCH");
export const DELETE = handler("DELETE");
export const POST = handler("POST");
