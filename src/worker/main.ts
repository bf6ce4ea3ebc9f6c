/**
 * The worker process (`tsx src/worker/main.ts`): consumes the jobs queue (at-least-once, ack after
 * commit, retry with delay, dead-letter after N attempts), relays the transactional outbox and runs
 * the periodic sweeps. SIGTERM stops taking messages, lets the ones in flight finish, then exits.
 */
import { connect } from "amqplib";
import { env } from "~/env";
import { db } from "~/server/db/client";
import { closeQueue } from "~/server/queue/connection";
import { declareTopology, topology } from "~/server/queue/topology";
import { redis } from "~/server/redis/client";
import { assertStorageReady } from "~/server/storage";
import { logger } from "~/server/log";
import { handleMessage } from "./consumer";
import { startWorkerMetrics } from "./metrics-server";
import { startPeriodic } from "./periodic";

const PREFETCH = 4;
const log = logger("worker");

async function main() {
  await assertStorageReady();
  const stopMetrics = await startWorkerMetrics();
  const conn = await connect(env.AMQP_URL).catch((e: Error) => {
    throw new Error(`cannot reach RabbitMQ at AMQP_URL (${e.message}); see README.md, "Configuration"`);
  });
  const channel = await conn.createChannel();
  await declareTopology(channel);
  await channel.prefetch(PREFETCH);

  const inFlight = new Set<Promise<void>>();
  const { consumerTag } = await channel.consume(topology.jobsQueue, (msg) => {
    if (!msg) return;
    const p = handleMessage(channel, msg);
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  });
  const stopPeriodic = startPeriodic();
  log.info({ queue: topology.jobsQueue, prefetch: PREFETCH }, `consuming ${topology.jobsQueue} (prefetch ${PREFETCH})`);

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, inFlight: inFlight.size }, `${signal}: finishing ${inFlight.size} job(s) in flight`);
    const force = setTimeout(() => {
      log.error("graceful shutdown timed out");
      process.exit(1);
    }, 30_000);
    force.unref();
    await channel.cancel(consumerTag).catch(() => undefined);
    await Promise.allSettled([...inFlight]);
    await stopPeriodic();
    await stopMetrics();
    await channel.close().catch(() => undefined);
    await conn.close().catch(() => undefined);
    await closeQueue();
    await redis.quit().catch(() => undefined);
    await db.$disconnect().catch(() => undefined);
    log.info("stopped");
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
  conn.on("close", () => {
    if (!stopping) {
      log.error("RabbitMQ connection closed; exiting so the supervisor restarts the worker");
      process.exit(1);
    }
  });
}

main().catch((e) => {
  log.fatal({ err: e }, `failed to start: ${e instanceof Error ? e.message : e}`);
  process.exit(1);
});
