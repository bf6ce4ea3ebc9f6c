import type { RawRoute } from "../router";

export const routes: RawRoute[] = [];
