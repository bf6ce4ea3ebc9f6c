/**
 * The web process: one node:http server in front of Next.js.
 *
 * Byte-heavy routes (uploads, chunks, downloads, health, metrics) are served straight from node:http
 * through the raw-route table, without Next's web-stream bridge, which costs ~30% of upload
 * throughput (../../shared/notes/stack.md). Everything else (pages, tRPC, next-auth) goes to Next.
 * The same raw handlers are also mounted as Next route files, so `next dev` serves them too. The
 * contract they implement is docs/API.md.
 *
 * The process holds no state a request needs: any instance serves any request (sessions, uploads
 * and locks live in MariaDB, Redis and storage), so operators run as many as they like behind a
 * balancer (deploy/). Every request gets an id and a metrics/log record (http/observe.ts).
 *
 * Shutdown (SIGTERM from the supervisor, Docker or Kubernetes):
 *   1. readiness (/api/health) answers 503 at once, responses say `Connection: close`;
 *   2. after SHUTDOWN_DRAIN_SECONDS the listener closes (no new connections);
 *   3. requests in flight get SHUTDOWN_TIMEOUT_SECONDS to finish, then their connections are cut;
 *   4. MariaDB pools, Redis and the AMQP connection close, and the process exits 0.
 * SIGINT (Ctrl-C) skips the drain wait. A second signal exits at once.
 *
 * Run with `tsx src/server/main.ts` after `next build` (NODE_ENV=production), or with
 * FILESTORE_DEV=1 for Next's dev mode.
 */
import { existsSync, readFileSync } from "node:fs";
import http from "node:http";
import next from "next";
import { env } from "~/env";
import { db } from "~/server/db/client";
import { closePools } from "~/server/db/pools";
import { tuneHeapGrowth } from "~/server/heap-growth";
import { stampRemoteAddress } from "~/server/http/client-address";
import { nextRouteLabel, observeRequest } from "~/server/http/observe";
import { serveNode } from "~/server/http/raw";
import { matchRawRoute } from "~/server/http/routes";
import { isDraining, markDraining } from "~/server/lifecycle";
import { log as rootLog } from "~/server/log";
import { collectProcessMetrics } from "~/server/metrics";
import { closeQueue } from "~/server/queue/connection";
import { redis } from "~/server/redis/client";
import { assertStorageReady } from "~/server/storage";

const dev = process.env.FILESTORE_DEV === "1";
const log = rootLog.child({ component: "web" });

/**
 * In the image's server folder (scripts/build-server.mjs: Next's standalone output) there is no
 * next.config.mjs: the config the build used is in .next/required-server-files.json, and Next's
 * own standalone server.js hands it over the same way.
 */
function standaloneConfig(): Record<string, unknown> | undefined {
  const file = ".next/required-server-files.json";
  if (dev || existsSync("next.config.mjs") || !existsSync(file)) return undefined;
  const { config } = JSON.parse(readFileSync(file, "utf8")) as { config: Record<string, unknown> };
  process.env.__NEXT_PRIVATE_STANDALONE_CONFIG = JSON.stringify(config);
  return config;
}

async function main() {
  tuneHeapGrowth();
  // A wrong or unreachable storage backend is a start-up failure with one clear line, not a 500 later.
  await assertStorageReady();
  collectProcessMetrics();
  const conf = standaloneConfig();
  const app = next({ dev, hostname: env.HOST, port: env.PORT, dir: process.cwd(), ...(conf ? { conf: conf as never } : {}) });
  const handle = app.getRequestHandler();
  await app.prepare();

  const inFlight = new Set<http.ServerResponse>();
  const server = http.createServer((req, res) => {
    // The socket address, for throttling; a client-supplied value is never trusted.
    stampRemoteAddress(req.headers, req.socket.remoteAddress);
    const url = req.url ?? "/";
    const pathname = url.split("?", 1)[0] ?? "/";
    const raw = pathname.startsWith("/api/") ? matchRawRoute(req.method ?? "GET", pathname) : null;
    const observed = observeRequest(req, res, raw ? raw.route : nextRouteLabel(pathname));
    // While draining, clients reconnect (to another instance) for their next request.
    if (isDraining()) res.setHeader("connection", "close");
    inFlight.add(res);
    res.once("close", () => inFlight.delete(res));
    observed.run(() => {
      if (raw) {
        serveNode(raw.handler, raw.params, req, res)
          .then((out) => observed.errorCode(out.errorCode))
          .catch((e) => {
            log.error({ err: e }, "raw route failed");
            if (!res.headersSent) res.writeHead(500).end();
            else res.destroy();
          });
        return;
      }
      handle(req, res).catch((e) => {
        log.error({ err: e }, "next failed");
        if (!res.headersSent) res.writeHead(500).end();
      });
    });
  });
  // Uploads of large chunks over slow links must not be cut by the default 5 min request timeout.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  // Longer than the balancer's idle upstream keep-alive (nginx: 60 s), so nginx closes first.
  server.keepAliveTimeout = 65_000;

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(env.PORT, env.HOST, () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : env.PORT;
  log.info(
    { port, mode: dev ? "dev" : "production" },
    `filestore listening on http://${env.HOST === "0.0.0.0" ? "localhost" : env.HOST}:${port}`,
  );
  // The supervisor (scripts/lib/supervisor.mjs) counts a web process as started from here.
  process.send?.({ filestore: "ready", port });

  let closing = false;
  const shutdown = async (signal: NodeJS.Signals) => {
    if (closing) {
      log.warn({ signal }, "second signal: exiting now");
      process.exit(1);
    }
    closing = true;
    markDraining();
    for (const res of inFlight) if (!res.headersSent) res.setHeader("connection", "close");
    const drainMs = signal === "SIGTERM" ? env.SHUTDOWN_DRAIN_SECONDS * 1000 : 0;
    log.info({ signal, drainMs, inFlight: inFlight.size }, "shutting down: readiness now fails");
    await new Promise((r) => setTimeout(r, drainMs));

    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    // Keep-alive connections whose request finishes become idle: close them as they do.
    const idleSweep = setInterval(() => server.closeIdleConnections(), 100);
    const timeoutMs = env.SHUTDOWN_TIMEOUT_SECONDS * 1000;
    log.info({ inFlight: inFlight.size, timeoutMs }, "listener closed; waiting for requests in flight");
    const timedOut = await Promise.race([
      closed.then(() => false),
      new Promise<boolean>((r) => setTimeout(() => r(true), timeoutMs).unref()),
    ]);
    clearInterval(idleSweep);
    if (timedOut) {
      log.warn({ inFlight: inFlight.size }, "requests still in flight after the shutdown timeout: cutting them");
      server.closeAllConnections();
    }

    // Nothing is served any more: the clients of shared services can go.
    await db.$disconnect().catch((e: unknown) => log.warn({ err: e }, "closing the database client failed"));
    await closePools();
    await redis.quit().catch(() => redis.disconnect());
    await closeQueue();
    log.info("stopped: database, Redis and AMQP connections closed");
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
}

main().catch((e) => {
  log.fatal({ err: e }, `failed to start: ${e instanceof Error ? e.message : e}`);
  process.exit(1);
});
