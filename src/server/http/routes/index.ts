import { toRouteHandler } from "../raw";
import { createRawRouter, type RawRoute } from "../router";
import { routes as downloads } from "./downloads";
import { routes as health } from "./health";
import { routes as previews } from "./previews";
import { routes as tus } from "./tus";
import { routes as uploads } from "./uploads";

/** Every byte-heavy route, served by the custom server without Next's web-stream bridge. */
export const rawRoutes: RawRoute[] = [...health, ...uploads, ...tus, ...downloads, ...previews];
export const matchRawRoute = createRawRouter(rawRoutes);

/**
 * The Next route-file export for the raw route at `path` serving `method` (for `next dev`; the
 * custom server serves these routes itself). Throws at import when no such route exists.
 */
export function nextRouteHandler(path: string, method: string) {
  const route = rawRoutes.find((r) => r.path === path && r.methods.includes(method));
  if (!route) throw new Error(`No raw route ${method} ${path}`);
  return toRouteHandler(route.handler);
}
