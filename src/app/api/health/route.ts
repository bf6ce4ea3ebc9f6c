import { toRouteHandler } from "~/server/http/raw";
import { routes } from "~/server/http/routes/health";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export const GET = toRouteHandler(routes[0]!.handler);
