import http from "node:http";
import type { AddressInfo } from "node:net";
import { serveNode } from "~/server/http/raw";
import { matchRawRoute } from "~/server/http/routes";

// A bare node:http server that serves the raw-route table exactly as the custom server
// (src/server/main.ts) does, without Next: raw routes for byte-heavy endpoints, 404 JSON for the
// rest. Listens on an ephemeral loopback port.

export interface TestHttpServer {
  /** e.g. http://127.0.0.1:40123 (no trailing slash) */
  baseUrl: string;
  server: http.Server;
  /** Resolves once no handler is running (a handler keeps running after its client went away). */
  idle(): Promise<void>;
  close(): Promise<void>;
}

export async function startHttpServer(): Promise<TestHttpServer> {
  let inFlight = 0;
  let waiters: Array<() => void> = [];
  const server = http.createServer((req, res) => {
    req.headers["x-filestore-remote-addr"] = req.socket.remoteAddress ?? "unknown";
    const pathname = (req.url ?? "/").split("?", 1)[0] ?? "/";
    const raw = matchRawRoute(req.method ?? "GET", pathname);
    if (!raw) {
      res.writeHead(404, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { code: "NOT_FOUND", message: "No such route" } }));
      return;
    }
    inFlight++;
    serveNode(raw.handler, raw.params, req, res)
      .catch((e) => {
        console.error("[test-http] raw route failed", e);
        if (!res.headersSent) res.writeHead(500).end();
        else res.destroy();
      })
      .finally(() => {
        if (--inFlight === 0) {
          const w = waiters;
          waiters = [];
          for (const resolve of w) resolve();
        }
      });
  });
  server.requestTimeout = 0;
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    server,
    idle: () => (inFlight === 0 ? Promise.resolve() : new Promise<void>((resolve) => waiters.push(resolve))),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
