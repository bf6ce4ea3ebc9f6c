import { createRawRouter, type RawRoute } from "../router";
import { routes as downloads } from "./downloads";
import { routes as health } from "./health";
import { routes as tus } from "./tus";
import { routes as uploads } from "./uploads";

/** Every byte-heavy route, served by the custom server without Next's web-stream bridge. */
export const rawRoutes: RawRoute[] = [...health, ...uploads, ...tus, ...downloads];
export const matchRawRoute = createRawRouter(rawRoutes);
