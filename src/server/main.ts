/**
 * The web process: one node:http server in front of Next.js.
 *
 * Byte-heavy routes (uploads, chunks, downloads, health) are served straight from node:http through
 * the raw-route table, without Next's web-stream bridge, which costs ~30% of upload throughput
 * (../../shared/notes/stack.md). Everything else (pages, tRPC, next-auth) goes to Next. The same
 * raw handlers are also mounted as Next route files, so `next dev` serves them too.
 *
 * Run with `tsx src/server/main.ts` after `next build` (NODE_ENV=production), or with
 * FILESTORE_DEV=1 for Next's dev mode.
 */
import http from "node:http";
import next from "next";
import { env } from "~/env";
import { stampRemoteAddress } from "~/server/http/client-address";
import { serveNode } from "~/server/http/raw";
import { matchRawRoute } from "~/server/http/routes";
import { assertStorageReady } from "~/server/storage";

const dev = process.env.FILESTORE_DEV === "1";

async function main() {
  // A wrong or unreachable storage backend is a start-up failure with one clear line, not a 500 later.
  await assertStorageReady();
  const app = next({ dev, hostname: env.HOST, port: env.PORT, dir: process.cwd() });
  const handle = app.getRequestHandler();
  await app.prepare();

  const server = http.createServer((req, res) => {
    // The socket address, for throttling; a client-supplied value is never trusted.
    stampRemoteAddress(req.headers, req.socket.remoteAddress);
    const url = req.url ?? "/";
    const pathname = url.split("?", 1)[0] ?? "/";
    const raw = pathname.startsWith("/api/") ? matchRawRoute(req.method ?? "GET", pathname) : null;
    if (raw) {
      serveNode(raw.handler, raw.params, req, res).catch((e) => {
        console.error("[web] raw route failed", e);
        if (!res.headersSent) res.writeHead(500).end();
        else res.destroy();
      });
      return;
    }
    handle(req, res).catch((e) => {
      console.error("[web] next failed", e);
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  // Uploads of large chunks over slow links must not be cut by the default 5 min request timeout.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  server.keepAliveTimeout = 65_000;

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(env.PORT, env.HOST, () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : env.PORT;
  console.log(`[web] filestore listening on http://${env.HOST === "0.0.0.0" ? "localhost" : env.HOST}:${port} (${dev ? "dev" : "production"})`);

  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    console.log(`[web] ${signal}: closing`);
    server.close(() => process.exit(0));
    server.closeIdleConnections();
    setTimeout(() => process.exit(0), 10_000).unref();
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
}

main().catch((e) => {
  console.error(`[web] failed to start: ${e instanceof Error ? e.message : e}`);
  process.exit(1);
});
