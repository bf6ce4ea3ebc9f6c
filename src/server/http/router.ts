import type { RawHandler } from "./raw";

export interface RawRoute {
  methods: string[];
  /** Path template, e.g. "/api/uploads/:uploadId/chunks/:index". */
  path: string;
  handler: RawHandler;
}

interface Compiled {
  route: RawRoute;
  regex: RegExp;
  names: string[];
}

/** Matches a method and pathname against a table of raw routes. */
export function createRawRouter(routes: RawRoute[]) {
  const compiled: Compiled[] = routes.map((route) => {
    const names: string[] = [];
    const pattern = route.path
      .split("/")
      .map((seg) => {
        if (seg.startsWith(":")) {
          names.push(seg.slice(1));
          return "([^/]+)";
        }
        return seg.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      })
      .join("/");
    return { route, regex: new RegExp(`^${pattern}/?$`), names };
  });

  return function match(
    method: string,
    pathname: string,
  ): { handler: RawHandler; params: Record<string, string>; /** the path template, for metrics */ route: string } | null {
    for (const c of compiled) {
      const m = c.regex.exec(pathname);
      if (!m) continue;
      if (!c.route.methods.includes(method)) continue;
      const params: Record<string, string> = {};
      c.names.forEach((name, i) => {
        params[name] = decodeURIComponent(m[i + 1] ?? "");
      });
      return { handler: c.route.handler, params, route: c.route.path };
    }
    return null;
  };
}
