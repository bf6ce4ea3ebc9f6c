import type { Channel } from "amqplib";
import { env } from "~/env";

// RabbitMQ topology, declared (idempotently) by both publishers and the worker.
// work exchange  --(routing key = job kind)-->  jobs queue
// jobs queue     --(nack, no requeue)-------->  retry exchange -> retry queue (TTL) -> back to work
// after MAX_ATTEMPTS a job goes to the dead-letter queue for an operator to look at.
export const topology = {
  workExchange: `${env.AMQP_PREFIX}.work`,
  retryExchange: `${env.AMQP_PREFIX}.retry`,
  deadExchange: `${env.AMQP_PREFIX}.dead`,
  jobsQueue: `${env.AMQP_PREFIX}.jobs`,
  retryQueue: `${env.AMQP_PREFIX}.jobs.retry`,
  deadQueue: `${env.AMQP_PREFIX}.jobs.dead`,
  retryDelayMs: 5_000,
  maxAttempts: 5,
} as const;

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
  await ch.assertQueue(topology.deadQueue, { durable: true });
  await ch.bindQueue(topology.deadQueue, topology.deadExchange, "#");
}
