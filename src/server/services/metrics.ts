import { timingSafeEqual, createHash } from "node:crypto";
import { env } from "~/env";
import { db } from "~/server/db/client";
import { poolUse } from "~/server/db/pools";
import { DomainError } from "~/server/errors";
import { collectProcessMetrics, onScrape, renderMetrics } from "~/server/metrics";
import { publisherChannel } from "~/server/queue/connection";
import { topology } from "~/server/queue/topology";

// GET /api/metrics (docs/API.md): the process's own counters plus what the deployment looks like
// from here, read at scrape time: the broker's queue depths, the outbox backlog by state, and the
// use of this process's MariaDB pools. With METRICS_TOKEN set, only `Authorization: Bearer <token>`
// may read it (401 otherwise): the route names and volumes are not for everyone.

let registered = false;

function registerDeploymentMetrics(): void {
  if (registered) return;
  registered = true;
  collectProcessMetrics();
  onScrape("filestore_queue_messages", "Messages ready in each RabbitMQ queue of the drive", ["queue"], async () => {
    const channel = await publisherChannel();
    const out = [];
    for (const [name, queue] of [
      ["jobs", topology.jobsQueue],
      ["retry", topology.retryQueue],
      ["dead", topology.deadQueue],
    ] as const) {
      const { messageCount } = await channel.checkQueue(queue);
      out.push({ labels: { queue: name }, value: messageCount });
    }
    return out;
  });
  onScrape("filestore_outbox_jobs", "Jobs in the transactional outbox by state (pending, published, done, failed)", ["state"], async () => {
    const rows = await db.$primary().$queryRaw<Array<{ state: string; n: bigint }>>`
      SELECT state, COUNT(*) AS n FROM TransferOutbox GROUP BY state`;
    return rows.map((r) => ({ labels: { state: r.state }, value: Number(r.n) }));
  });
  onScrape("filestore_db_pool_connections", "MariaDB pool connections of this process by pool and state", ["pool", "state"], async () =>
    poolUse().flatMap((p) => [
      { labels: { pool: p.pool, state: "active" }, value: p.active },
      { labels: { pool: p.pool, state: "idle" }, value: p.idle },
      { labels: { pool: p.pool, state: "limit" }, value: p.limit },
    ]),
  );
  onScrape("filestore_db_pool_waiting", "Queries waiting for a MariaDB connection, by pool", ["pool"], async () =>
    poolUse().map((p) => ({ labels: { pool: p.pool }, value: p.waiting })),
  );
}

function digest(s: string): Buffer {
  return createHash("sha256").update(s).digest();
}

/** True when no token is configured, or `authorization` carries it. */
export function metricsAuthorized(authorization: string | null, token = env.METRICS_TOKEN): boolean {
  if (!token) return true;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
  // Compared as digests: constant time, whatever the lengths.
  return m !== null && timingSafeEqual(digest(m[1]!), digest(token));
}

/** The Prometheus exposition for a scraper presenting `authorization`. */
export async function scrapeMetrics(authorization: string | null): Promise<{ contentType: string; body: string }> {
  if (!metricsAuthorized(authorization)) {
    throw new DomainError("UNAUTHORIZED", "Metrics need Authorization: Bearer <METRICS_TOKEN>", {
      details: { headers: { "www-authenticate": 'Bearer realm="metrics"' } },
    });
  }
  registerDeploymentMetrics();
  return renderMetrics();
}
