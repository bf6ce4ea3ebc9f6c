import type { Channel } from "amqplib";
import { env } from "~/env";

// RabbitMQ topology, declared (idempotently) by the publishers and the worker:
//
//   work exchange (topic) --#--> jobs queue ──consumer──┬─ done: ack after the database commit
//                                    │                  ├─ failed: a copy goes to delay queue N (TTL =
//                                    │                  │  the Nth retry delay), which dead-letters it
//                                    │                  │  back to the work exchange when it expires
//                                    │                  └─ poison / too many attempts: dead exchange
//                                    │                     --#--> dead queue (with the reason), kept
//                                    │                     for an operator (npm run transfer -- status)
//                                    └─ nack (the database was unreachable): retry exchange --#-->
//                                       retry queue (5 s TTL) --> work exchange
//
// Growing retry delays are separate queues (one per delay, named by it), never a per-message TTL:
// RabbitMQ expires messages only at the head of a queue, so one queue holding both a 10-minute and
// a 5-second message would keep the short one waiting behind the long one.
// The jobs and retry queues keep the arguments they were first declared with (a queue declared
// again with other arguments is a channel error), so existing brokers need no migration.

const prefix = env.AMQP_PREFIX;

export const topology = {
  workExchange: `${prefix}.work`,
  retryExchange: `${prefix}.retry`,
  deadExchange: `${prefix}.dead`,
  jobsQueue: `${prefix}.jobs`,
  retryQueue: `${prefix}.jobs.retry`,
  deadQueue: `${prefix}.jobs.dead`,
  retryDelayMs: 5_000,
  /** Delay before retry n (1-based); the last delay repeats. */
  retryDelays: env.JOB_RETRY_DELAYS,
  maxAttempts: env.JOB_MAX_ATTEMPTS,
} as const;

/** The delay queue for `ms`: its TTL is the delay, and it dead-letters into the work exchange. */
export function delayQueueName(ms: number): string {
  return `${prefix}.jobs.delay.${ms}`;
}

/** The delay before the retry that follows failed attempt `attempt` (1-based). */
export function retryDelayMs(attempt: number): number {
  const delays = topology.retryDelays;
  return delays[Math.min(Math.max(attempt, 1), delays.length) - 1]!;
}

/** Every queue the worker's jobs pass through (for status and the lost-message check). */
export function transitQueues(): string[] {
  return [topology.jobsQueue, topology.retryQueue, ...[...new Set(topology.retryDelays)].map(delayQueueName)];
}

export async function declareTopology(ch: Channel): Promise<void> {
  await ch.assertExchange(topology.workExchange, "topic", { durable: true });
  await ch.assertExchange(topology.retryExchange, "topic", { durable: true });
  await ch.assertExchange(topology.deadExchange, "topic", { durable: true });
  await ch.assertQueue(topology.jobsQueue, {
    durable: true,
    deadLetterExchange: topology.retryExchange,
  });
  await ch.bindQueue(topology.jobsQueue, topology.workExchange, "#");
  await ch.assertQueue(topology.retryQueue, {
    durable: true,
    messageTtl: topology.retryDelayMs,
    deadLetterExchange: topology.workExchange,
  });
  await ch.bindQueue(topology.retryQueue, topology.retryExchange, "#");
  for (const ms of new Set(topology.retryDelays)) {
    // Published to through the default exchange (routing key = queue name).
    await ch.assertQueue(delayQueueName(ms), { durable: true, messageTtl: ms, deadLetterExchange: topology.workExchange });
  }
  await ch.assertQueue(topology.deadQueue, { durable: true });
  await ch.bindQueue(topology.deadQueue, topology.deadExchange, "#");
}
