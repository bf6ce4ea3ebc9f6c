import { db } from "~/server/db/client";
import { publisherChannel } from "~/server/queue/connection";
import { topology } from "~/server/queue/topology";
import { redis } from "~/server/redis/client";
import { getStorage } from "~/server/storage";

export type Component = "db" | "redis" | "queue" | "storage";
export type HealthReport = Record<Component, string>;

const TIMEOUT_MS = 3_000;

async function probe(fn: () => Promise<unknown>): Promise<string> {
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
    return `down: ${e instanceof Error ? e.message : String(e)}`;
  } finally {
    clearTimeout(timer);
  }
}

/** Talks to every dependency for real: a query, a PING, a passive queue declare, a storage check. */
export async function checkHealth(): Promise<{ ok: boolean; report: HealthReport }> {
  const [dbState, redisState, queueState, storageState] = await Promise.all([
    probe(() => db.$primary().$queryRaw`SELECT 1`),
    probe(() => redis.ping()),
    probe(async () => {
      const ch = await publisherChannel();
      await ch.checkQueue(topology.jobsQueue);
    }),
    probe(() => getStorage().check()),
  ]);
  const report: HealthReport = { db: dbState, redis: redisState, queue: queueState, storage: storageState };
  return { ok: Object.values(report).every((s) => s === "ok"), report };
}
