import { db } from "~/server/db/client";
import { env } from "~/env";
import { publisherChannel } from "~/server/queue/connection";
import { topology, transitQueues } from "~/server/queue/topology";

// Periodic upkeep of the outbox, run by every worker (each statement is safe to run concurrently).

/** Jobs whose worker died (its lease ran out) go back to pending, for the relay to publish again. */
export async function recoverExpiredLeases(): Promise<number> {
  return db.$executeRaw`
    UPDATE TransferOutbox
    SET state = 'pending', leaseToken = NULL, leaseUntil = NULL, updatedAt = NOW(3),
        lastError = LEFT(CONCAT('the worker running it stopped extending its lease (it died or lost the database); ', COALESCE(lastError, '')), 4000)
    WHERE state = 'running' AND leaseUntil < NOW(3)`;
}

/**
 * A published row's message can only be lost with the broker's data (a queue deleted or purged by
 * hand, a broker that lost its disk): confirmed messages in durable queues survive restarts. Such
 * rows are published again, but only when no queue a job passes through holds any message and the
 * row was published longer ago than the longest retry delay: then the broker provably has no copy
 * (a backlog legitimately keeps old messages waiting, and republishing it would only duplicate it).
 */
export async function republishLost(): Promise<number> {
  const channel = await publisherChannel();
  for (const queue of transitQueues()) {
    const { messageCount } = await channel.checkQueue(queue);
    if (messageCount > 0) return 0;
  }
  const olderThanUs = (Math.max(...topology.retryDelays, topology.retryDelayMs) + 60_000) * 1000;
  return db.$executeRaw`
    UPDATE TransferOutbox SET state = 'pending', updatedAt = NOW(3)
    WHERE state = 'published' AND publishedAt < NOW(3) - INTERVAL ${olderThanUs} MICROSECOND`;
}

/** Done rows are kept JOB_DONE_RETENTION_HOURS for `npm run transfer -- status`, then deleted. */
export async function cleanupDoneJobs(batch = 5000): Promise<number> {
  const us = Math.round(env.JOB_DONE_RETENTION_HOURS * 3_600_000_000);
  let total = 0;
  for (;;) {
    const n = await db.$executeRaw`
      DELETE FROM TransferOutbox WHERE state = 'done' AND updatedAt < NOW(3) - INTERVAL ${us} MICROSECOND LIMIT ${batch}`;
    total += n;
    if (n < batch) return total;
  }
}
