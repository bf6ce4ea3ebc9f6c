import type { Channel, ConsumeMessage } from "amqplib";
import { ZodError } from "zod";
import { envelopeSchema, isJobKind, jobSchemas } from "~/server/jobs/definitions";
import { isJobDone, markJobDone, markJobFailed } from "~/server/jobs/outbox";
import { topology } from "~/server/queue/topology";
import { handlers } from "./handlers";

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
export async function handleMessage(channel: Channel, msg: ConsumeMessage): Promise<void> {
  let outboxId: bigint | null = null;
  try {
    const envelope = envelopeSchema.parse(JSON.parse(msg.content.toString("utf8")));
    outboxId = BigInt(envelope.id);
    if (!isJobKind(envelope.kind)) throw new PermanentJobError(`unknown job kind ${envelope.kind}`);
    if (await isJobDone(outboxId)) {
      channel.ack(msg);
      return;
    }
    const payload = jobSchemas[envelope.kind].parse(envelope.payload);
    await handlers[envelope.kind](payload as never);
    await markJobDone(outboxId);
    channel.ack(msg);
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
      console.error(`[worker] job dead-lettered after ${attempts} attempt(s): ${reason}`);
    } else {
      channel.nack(msg, false, false);
      console.warn(`[worker] job failed (attempt ${attempts}/${topology.maxAttempts}), retrying: ${reason}`);
    }
  }
}

export class PermanentJobError extends Error {}
