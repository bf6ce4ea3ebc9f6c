import { nextRouteHandler } from "~/server/http/routes";

// tus HEAD, PATCH, DELETE (and POST with X-HTTP-Method-Override) on /api/tus/{id} under `next dev`;
// the custom server serves them directly.
export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export const OPTIONS = nextRouteHandler("/api/tus/:id", "OPTIONS");
export const HEAD = nextRouteHandler("/api/tus/:id", "HEAD");
export const PATCH = nextRouteHandler("/api/tus/:id", "PATCH");
export const DELETE = nextRouteHandler("/api/tus/:id", "DELETE");
export const POST = nextRouteHandler("/api/tus/:id", "POST");
