import http from "node:http";
import { env } from "~/env";
import { logger } from "~/server/log";
import { collectProcessMetrics, renderMetrics } from "~/server/metrics";
import { metricsAuthorized } from "~/server/services/metrics";

// The worker's Prometheus endpoint (GET /metrics on WORKER_METRICS_PORT; off when 0): job outcomes
// and durations by kind, and the process metrics. Same bearer token rule as the web's /api/metrics.

const log = logger("worker");

/** Starts the metrics server when WORKER_METRICS_PORT is set; resolves with a function that stops it. */
export async function startWorkerMetrics(port = env.WORKER_METRICS_PORT): Promise<() => Promise<void>> {
  collectProcessMetrics();
  if (!port) return async () => {};
  const server = http.createServer((req, res) => {
    if ((req.url ?? "/").split("?", 1)[0] !== "/metrics" || req.method !== "GET") return void res.writeHead(404).end();
    if (!metricsAuthorized(req.headers.authorization ?? null)) return void res.writeHead(401, { "www-authenticate": 'Bearer realm="metrics"' }).end();
    renderMetrics().then(
      ({ contentType, body }) => res.writeHead(200, { "content-type": contentType }).end(body),
      (e: unknown) => {
        log.error({ err: e }, "metrics failed");
        res.writeHead(500).end();
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, env.HOST, () => resolve());
  });
  log.info({ port }, `metrics on http://${env.HOST}:${port}/metrics`);
  return () => new Promise<void>((resolve) => server.close(() => resolve()));
}
