import client, { type Registry } from "prom-client";
import { logger } from "./log";

// Prometheus metrics (prom-client), served by GET /api/metrics (docs/API.md) and, for the worker,
// on WORKER_METRICS_PORT. One registry per process, kept on globalThis: the custom server and
// Next's compiled route bundle are separate copies of this module and must count into one place.
//
// Values that live outside the process (queue depth, the outbox backlog) are read when scraped,
// through collectors registered with `onScrape`, each bounded in time so a dead broker or database
// cannot hang the scrape.

const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

function build(registry: Registry) {
  const opts = { registers: [registry] };
  return {
    httpDuration: new client.Histogram({
      name: "filestore_http_request_duration_seconds",
      help: "Time from request to the end of the response, by route template, method and status",
      labelNames: ["route", "method", "status"] as const,
      buckets: SECONDS,
      ...opts,
    }),
    httpReceived: new client.Counter({
      name: "filestore_http_received_bytes_total",
      help: "Bytes received from clients (request line, headers and body), by route template",
      labelNames: ["route"] as const,
      ...opts,
    }),
    httpSent: new client.Counter({
      name: "filestore_http_sent_bytes_total",
      help: "Bytes sent to clients (status line, headers and body), by route template",
      labelNames: ["route"] as const,
      ...opts,
    }),
    httpInFlight: new client.Gauge({ name: "filestore_http_requests_in_flight", help: "Requests being served", ...opts }),
    uploadsInFlight: new client.Gauge({
      name: "filestore_uploads_in_flight",
      help: "Upload requests streaming bytes in (chunk PUTs, tus PATCH/POST, form POSTs)",
      labelNames: ["kind"] as const,
      ...opts,
    }),
    chunkErrors: new client.Counter({
      name: "filestore_upload_chunk_errors_total",
      help: "Chunk PUTs and tus PATCHes answered with an error, by error code",
      labelNames: ["kind", "code"] as const,
      ...opts,
    }),
    instantUploads: new client.Counter({
      name: "filestore_instant_uploads_total",
      help: "秒传: upload.init answered with a challenge (offered), upload.prove that linked the file (linked) or was refused (refused)",
      labelNames: ["outcome"] as const,
      ...opts,
    }),
    trpcDuration: new client.Histogram({
      name: "filestore_trpc_duration_seconds",
      help: "tRPC procedure time, by procedure and result code (ok or the tRPC error code)",
      labelNames: ["procedure", "code"] as const,
      buckets: SECONDS,
      ...opts,
    }),
    rateLimited: new client.Counter({
      name: "filestore_rate_limited_total",
      help: "Calls refused with 429 by a per-user limit, by bucket",
      labelNames: ["bucket"] as const,
      ...opts,
    }),
    dbReads: new client.Counter({
      name: "filestore_db_reads_total",
      help: "Routed reads (src/server/db/reads.ts) by where they ran and why (caught-up, causal-wait, causal-timeout, visitor, ...)",
      labelNames: ["target", "why"] as const,
      ...opts,
    }),
    jobs: new client.Counter({
      name: "filestore_jobs_total",
      help: "Jobs handled by this worker, by kind and outcome (done, skipped, retry, dead)",
      labelNames: ["kind", "outcome"] as const,
      ...opts,
    }),
    jobDuration: new client.Histogram({
      name: "filestore_job_duration_seconds",
      help: "Time to handle one job, by kind",
      labelNames: ["kind"] as const,
      buckets: SECONDS,
      ...opts,
    }),
  };
}

type Metrics = ReturnType<typeof build>;

interface Holder {
  registry: Registry;
  metrics: Metrics;
  defaults: boolean;
}

const holder = globalThis as unknown as { filestoreMetrics?: Holder };

function state(): Holder {
  if (!holder.filestoreMetrics) {
    const registry = new client.Registry();
    holder.filestoreMetrics = { registry, metrics: build(registry), defaults: false };
  }
  return holder.filestoreMetrics;
}

/** The metrics of this process. */
export function metrics(): Metrics {
  return state().metrics;
}

/** Process metrics (CPU, memory, event-loop lag, handles), once per process. */
export function collectProcessMetrics(): void {
  const s = state();
  if (s.defaults) return;
  s.defaults = true;
  client.collectDefaultMetrics({ register: s.registry, prefix: "filestore_" });
}

const SCRAPE_TIMEOUT_MS = 2_000;
const log = logger("metrics");

/**
 * A gauge whose values are read at scrape time by `read` (label values → number). A read that
 * fails or takes longer than 2 s leaves the gauge empty for that scrape and is logged.
 */
export function onScrape<L extends string>(
  name: string,
  help: string,
  labelNames: readonly L[],
  read: () => Promise<Array<{ labels: Record<L, string>; value: number }>>,
): void {
  const s = state();
  if (s.registry.getSingleMetric(name)) return;
  new client.Gauge({
    name,
    help,
    labelNames,
    registers: [s.registry],
    async collect() {
      this.reset();
      let timer: NodeJS.Timeout | undefined;
      try {
        const values = await Promise.race([
          read(),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`no answer within ${SCRAPE_TIMEOUT_MS} ms`)), SCRAPE_TIMEOUT_MS);
          }),
        ]);
        for (const v of values) this.set(v.labels as Partial<Record<L, string | number>>, v.value);
      } catch (e) {
        log.warn({ err: e, metric: name }, "metric not collected");
      } finally {
        clearTimeout(timer);
      }
    },
  });
}

/** The exposition text and its content type. */
export async function renderMetrics(): Promise<{ contentType: string; body: string }> {
  const s = state();
  return { contentType: s.registry.contentType, body: await s.registry.metrics() };
}
