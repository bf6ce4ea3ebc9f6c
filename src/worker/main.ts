/**
 * The worker process (`tsx src/worker/main.ts`): consumes the jobs queue (claim with a lease, ack
 * after the commit, retries through delay queues, dead letters), relays the transactional outbox and
 * runs the periodic sweeps. A broker outage never stops it: it reconnects with growing delays while
 * the sweeps go on and new jobs wait in the outbox. SIGTERM stops taking messages, lets the ones in
 * flight finish (a long transfer past the grace time is given back for another worker), then exits.
 */
import { env } from "~/env";
import { db } from "~/server/db/client";
import { closeQueue, publisherChannel } from "~/server/queue/connection";
import { redis } from "~/server/redis/client";
import { transferSettings } from "~/server/services/transfers/config";
import { blobStorage } from "~/server/services/blobs";
import { assertStorageReady } from "~/server/storage";
import { logger } from "~/server/log";
import { startConsumer } from "./consume-loop";
import { startWorkerMetrics } from "./metrics-server";
import { startPeriodic } from "./periodic";

/** How long SIGTERM waits for jobs in flight before giving them back. */
const DRAIN_MS = 20_000;
const log = logger("worker");

async function main() {
  await assertStorageReady();
  const transfer = transferSettings();
  if (transfer) {
    // The target being away is an outage the transfers ride out (retries, then dead letters), not a reason not to start.
    await blobStorage(transfer.target)
      .check()
      .then(
        () => log.info(`moving blobs from ${transfer.source} to ${transfer.target} (grace ${transfer.graceMs / 1000} s)`),
        (e: unknown) => log.warn(`transfer target ${transfer.target} is not usable yet: ${e instanceof Error ? e.message : e}`),
      );
  }
  const stopMetrics = await startWorkerMetrics();
  const consumer = startConsumer({ prefetch: env.WORKER_CONCURRENCY });
  // Open the relay's publishing connection now rather than on the first job (a cold connect and
  // topology declaration took seconds on a loaded machine); failing here is fine: it retries on use.
  void publisherChannel().catch(() => undefined);
  const stopPeriodic = startPeriodic();

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info(`${signal}: finishing ${consumer.inFlight()} job(s) in flight`);
    const force = setTimeout(() => {
      log.error("graceful shutdown timed out");
      process.exit(1);
    }, DRAIN_MS + 15_000);
    force.unref();
    await consumer.stop(DRAIN_MS);
    await stopPeriodic();
    await stopMetrics();
    await closeQueue();
    await redis.quit().catch(() => undefined);
    await db.$disconnect().catch(() => undefined);
    log.info("stopped");
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
}

main().catch((e) => {
  log.fatal({ err: e }, `failed to start: ${e instanceof Error ? e.message : e}`);
  process.exit(1);
});
