import http from "node:http";
import { createHTTPHandler } from "@trpc/server/adapters/standalone";
import { serveNode } from "../../src/server/http/raw";
import { matchRawRoute } from "../../src/server/http/routes";
import { appRouter } from "../../src/server/trpc/root";
import { createTrpcContext } from "../../src/server/trpc/trpc";
import { headersFromNode } from "../../src/server/http/raw";
import { tuneHeapGrowth } from "../../src/server/heap-growth";

// As src/server/main.ts does at start (see heap-growth.ts); BENCH_DEFAULT_HEAP_GROWTH=1 leaves V8's default.
if (process.env.BENCH_DEFAULT_HEAP_GROWTH !== "1") tuneHeapGrowth();

// The drive's server for benchmarks, in a process of its own: raw routes exactly as the custom
// server (src/server/main.ts) serves them (node:http → raw route table → serveNode), and tRPC at
// /api/trpc (standalone adapter instead of Next; same router). Prints "READY <port>".

const trpc = createHTTPHandler({
  router: appRouter,
  basePath: "/api/trpc/",
  createContext: ({ req }) => createTrpcContext({ headers: headersFromNode(req) }),
});

const server = http.createServer((req, res) => {
  req.headers["x-filestore-remote-addr"] = req.socket.remoteAddress ?? "unknown";
  const pathname = (req.url ?? "/").split("?", 1)[0] ?? "/";
  if (pathname.startsWith("/api/trpc/")) return void trpc(req, res);
  const raw = matchRawRoute(req.method ?? "GET", pathname);
  if (!raw) return void res.writeHead(404).end();
  serveNode(raw.handler, raw.params, req, res).catch(() => res.destroy());
});
server.requestTimeout = 0;
server.keepAliveTimeout = 65_000;
server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  process.stdout.write(`READY ${typeof address === "object" && address ? address.port : 0}\n`);
});
// SIGUSR2: print where the memory is (the memory benchmark asks at idle and at the end).
process.on("SIGUSR2", () => {
  const m = process.memoryUsage();
  const mib = (n: number) => `${(n / 1024 / 1024).toFixed(0)} MiB`;
  process.stdout.write(`MEMORY rss ${mib(m.rss)}, V8 heap ${mib(m.heapUsed)} used of ${mib(m.heapTotal)}, external ${mib(m.external)} (array buffers ${mib(m.arrayBuffers)})\n`);
});
process.on("SIGTERM", () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
