import { db } from "~/server/db/client";
import { replicaHealth, type ReplicaHealth } from "~/server/db/replicas";
import { publisherChannel } from "~/server/queue/connection";
import { topology } from "~/server/queue/topology";
import { redis } from "~/server/redis/client";
import { getStorage } from "~/server/storage";

export type Component = "db" | "redis" | "queue" | "storage";

/** The background-job backlog (the transactional outbox), from the database. */
export interface JobBacklog {
  /** Jobs not yet handed to the broker (all of them while the broker is away). */
  pending: number;
  /** Handed to the broker, waiting for a worker or for a retry. */
  queued: number;
  running: number;
  /** Dead-lettered: `npm run transfer -- status` shows why, `retry-dead` runs them again. */
  dead: number;
  /** Age of the oldest job due and not yet published: grows while the broker or every worker is away. */
  oldestPendingSeconds: number;
}

/**
 * `replicas`: each read replica's state ("ok", "lagging", "down", "starting") and lag, as of its last
 * probe (src/server/db/replicas.ts). Present when DATABASE_REPLICA_URLS is set; never fails
 * readiness: reads skip a replica that is not "ok" and go to the primary.
 */
export type HealthReport = Record<Component, string> & { jobs?: JobBacklog | string; replicas?: ReplicaHealth[] };

const TIMEOUT_MS = 3_000;

async function probe(fn: () => Promise<unknown>, failed = "down"): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      fn(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
      }),
    ]);
    return "ok";
  } catch (e) {
    return `${failed}: ${e instanceof Error ? e.message : String(e)}`;
  } finally {
    clearTimeout(timer);
  }
}

export async function jobBacklog(): Promise<JobBacklog> {
  const rows = await db.$primary().$queryRaw<Array<{ state: string; n: bigint; oldest: Date | null }>>`
    SELECT state, COUNT(*) AS n, MIN(IF(state = 'pending' AND availableAt <= NOW(3), availableAt, NULL)) AS oldest
    FROM TransferOutbox WHERE state <> 'done' GROUP BY state`;
  const count = (state: string) => Number(rows.find((r) => r.state === state)?.n ?? 0);
  const oldest = rows.find((r) => r.state === "pending")?.oldest ?? null;
  return {
    pending: count("pending"),
    queued: count("published"),
    running: count("running"),
    dead: count("failed"),
    oldestPendingSeconds: oldest ? Math.max(0, Math.round((Date.now() - new Date(oldest).getTime()) / 1000)) : 0,
  };
}

/**
 * Talks to every dependency for real: a query, a PING, a passive queue declare, a storage check.
 * The broker only runs background work (uploads and downloads do not need it; jobs wait in the
 * outbox), so while it is away `queue` is "degraded: …" and the drive stays ready (API.md).
 */
export async function checkHealth(): Promise<{ ok: boolean; report: HealthReport; down: Component[] }> {
  const [dbState, redisState, queueState, storageState, jobs, replicas] = await Promise.all([
    probe(() => db.$primary().$queryRaw`SELECT 1`),
    probe(() => redis.ping()),
    probe(async () => {
      const ch = await publisherChannel();
      await ch.checkQueue(topology.jobsQueue);
    }, "degraded"),
    probe(() => getStorage().check()),
    jobBacklog().catch((e: unknown) => `unknown: ${e instanceof Error ? e.message : String(e)}`),
    replicaHealth(),
  ]);
  const report: HealthReport = { db: dbState, redis: redisState, queue: queueState, storage: storageState, jobs };
  if (replicas.length > 0) report.replicas = replicas;
  const down = (["db", "redis", "storage"] as const).filter((c) => report[c] !== "ok");
  return { ok: down.length === 0, report, down };
}
