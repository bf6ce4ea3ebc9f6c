import type { Channel, ConsumeMessage } from "amqplib";
import { ZodError } from "zod";
import { envelopeSchema, isJobKind, jobSchemas } from "~/server/jobs/definitions";
import { isJobDone, markJobDone, markJobFailed } from "~/server/jobs/outbox";
import { logger, withLogContext } from "~/server/log";
import { metrics } from "~/server/metrics";
import { topology } from "~/server/queue/topology";
import { handlers } from "./handlers";

const log = logger("worker");

/** How many times this message was rejected by the jobs queue (RabbitMQ's x-death bookkeeping). */
export function attemptsSoFar(msg: ConsumeMessage): number {
  const deaths = (msg.properties.headers?.["x-death"] ?? []) as Array<{ queue?: string; reason?: string; count?: number }>;
  const rejected = deaths.find((d) => d.queue === topology.jobsQueue && d.reason === "rejected");
  return Number(rejected?.count ?? 0);
}

export interface ConsumerState {
  inFlight: Set<Promise<void>>;
}

/**
 * Handles one message: parse the versioned envelope, skip it if its outbox row is already done
 * (redelivery), run the handler, mark the row done, then ack. A failure is rejected into the retry
 * queue (delay, then back); after topology.maxAttempts it goes to the dead-letter queue.
 */
export function handleMessage(channel: Channel, msg: ConsumeMessage): Promise<void> {
  // Every log record written while the job runs, in any service, carries its id and kind.
  const jobId = typeof msg.properties.messageId === "string" ? msg.properties.messageId : undefined;
  const job = typeof msg.properties.type === "string" ? msg.properties.type : msg.fields.routingKey;
  return withLogContext({ jobId, job }, () => handleInContext(channel, msg, job));
}

async function handleInContext(channel: Channel, msg: ConsumeMessage, job: string): Promise<void> {
  const started = performance.now();
  const m = metrics();
  let outboxId: bigint | null = null;
  try {
    const envelope = envelopeSchema.parse(JSON.parse(msg.content.toString("utf8")));
    outboxId = BigInt(envelope.id);
    if (!isJobKind(envelope.kind)) throw new PermanentJobError(`unknown job kind ${envelope.kind}`);
    if (await isJobDone(outboxId)) {
      channel.ack(msg);
      m.jobs.inc({ kind: job, outcome: "skipped" });
      return;
    }
    const payload = jobSchemas[envelope.kind].parse(envelope.payload);
    await handlers[envelope.kind](payload as never);
    await markJobDone(outboxId);
    channel.ack(msg);
    m.jobs.inc({ kind: job, outcome: "done" });
    m.jobDuration.observe({ kind: job }, (performance.now() - started) / 1000);
    log.info({ ms: Math.round(performance.now() - started) }, "job done");
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    const attempts = attemptsSoFar(msg) + 1;
    // A message that cannot parse never will: dead-letter it at once instead of retrying.
    const permanent = e instanceof PermanentJobError || e instanceof SyntaxError || e instanceof ZodError;
    const final = permanent || attempts >= topology.maxAttempts;
    if (outboxId !== null) await markJobFailed(outboxId, reason, final).catch(() => undefined);
    if (final) {
      channel.publish(topology.deadExchange, msg.fields.routingKey, msg.content, {
        ...msg.properties,
        headers: { ...msg.properties.headers, "x-filestore-error": reason.slice(0, 500), "x-filestore-attempts": attempts },
      });
      channel.ack(msg);
      m.jobs.inc({ kind: job, outcome: "dead" });
      log.error({ err: e, attempts }, `job dead-lettered after ${attempts} attempt(s): ${reason}`);
    } else {
      channel.nack(msg, false, false);
      m.jobs.inc({ kind: job, outcome: "retry" });
      log.warn({ err: e, attempts }, `job failed (attempt ${attempts}/${topology.maxAttempts}), retrying: ${reason}`);
    }
  }
}

export class PermanentJobError extends Error {}
