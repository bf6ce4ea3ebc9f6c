import type { ConfirmChannel, ConsumeMessage } from "amqplib";
import { ZodError } from "zod";
import type { Prisma } from "~/server/db/generated/client";
import type { Tx } from "~/server/db/client";
import { envelopeSchema, isJobKind, jobSchemas, type JobKind } from "~/server/jobs/definitions";
import { PermanentJobError } from "~/server/jobs/errors";
import {
  claimJob,
  extendLease,
  finishJob,
  LeaseLostError,
  leaseSeconds,
  markDead,
  markRetrying,
  releaseToPending,
  saveCheckpoint,
} from "~/server/jobs/leases";
import { logger, withLogContext } from "~/server/log";
import { metrics } from "~/server/metrics";
import { publishConfirmed } from "~/server/queue/connection";
import { delayQueueName, retryDelayMs, topology } from "~/server/queue/topology";
import { handlers, type JobContext } from "./handlers";

// One delivery: parse the versioned envelope (anything malformed or unknown goes straight to the
// dead letters, and the worker carries on), claim the outbox row with a lease (a duplicate or a
// redelivery of a job another worker holds is dropped), run the handler while extending the lease,
// mark the row done in the handler's commit, and only then ack. A failure publishes a copy to the
// delay queue of its attempt and acks the original; after JOB_MAX_ATTEMPTS, or for an error that
// can never succeed, the copy goes to the dead letters with the reason instead. Every publish is
// confirmed by the broker before the original is acked, so a job is never lost between the two.

export { PermanentJobError };

/** A job claimed again this many times past the limit kills its worker each time: it is not run again. */
const CRASH_ALLOWANCE = 2;

export interface Delivery {
  channel: ConfirmChannel;
  msg: ConsumeMessage;
}

const workerLog = logger("worker");

function log(level: "info" | "warn" | "error", message: string) {
  workerLog[level](message);
}

/** Counts a job's outcome (and its duration when it ran) for /metrics. */
function countOutcome(kind: string, outcome: "done" | "skipped" | "retry" | "dead", startedAt?: number) {
  const m = metrics();
  m.jobs.inc({ kind, outcome });
  if (startedAt !== undefined) m.jobDuration.observe({ kind }, (performance.now() - startedAt) / 1000);
}

function ack(d: Delivery) {
  try {
    d.channel.ack(d.msg);
  } catch {
    // The channel closed meanwhile: the broker redelivers the message, which finds its row settled.
  }
}

function reasonOf(e: unknown): string {
  if (e instanceof ZodError) return `malformed payload: ${e.issues.map((i) => `${i.path.join(".") || "(root)"} ${i.message}`).join("; ")}`;
  if (e instanceof Error) return e.message || e.name;
  return String(e);
}

async function deadLetter(d: Delivery, reason: string, attempts: number): Promise<void> {
  await publishConfirmed(d.channel, topology.deadExchange, d.msg.fields.routingKey || "unroutable", d.msg.content, {
    ...d.msg.properties,
    persistent: true,
    headers: {
      ...d.msg.properties.headers,
      "x-filestore-error": reason.slice(0, 1000),
      "x-filestore-attempts": attempts,
      "x-filestore-dead-at": new Date().toISOString(),
    },
  });
}

async function retryLater(d: Delivery, attempts: number, reason: string): Promise<number> {
  const delay = retryDelayMs(attempts);
  await publishConfirmed(d.channel, "", delayQueueName(delay), d.msg.content, {
    ...d.msg.properties,
    persistent: true,
    headers: { ...d.msg.properties.headers, "x-filestore-attempts": attempts, "x-filestore-error": reason.slice(0, 1000) },
  });
  return delay;
}

/** Keeps the lease alive while the handler runs; aborts the handler once the lease is lost. */
function heartbeat(id: bigint, token: string, controller: AbortController): () => void {
  const every = Math.max(250, (leaseSeconds() * 1000) / 3);
  let stopped = false;
  let failures = 0;
  const timer = setInterval(() => {
    void extendLease(id, token).then(
      (ok) => {
        failures = 0;
        if (!ok && !stopped) controller.abort(new LeaseLostError(id));
      },
      (e: unknown) => {
        // The database is away: keep trying; past the lease's end another worker may take over,
        // and every transition of ours names the token, so it cannot clash.
        if (++failures === 3) log("warn", `job ${id}: cannot extend its lease: ${reasonOf(e)}`);
      },
    );
  }, every);
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}

/**
 * Handles one message. `signal` aborts the handler (the worker is shutting down): the job is then
 * given back (pending) for another worker, without counting as a failure.
 */
export function handleMessage(d: Delivery, shutdown?: AbortSignal): Promise<void> {
  // Every log record written while the job runs, in any service, carries its id and kind.
  const jobId = typeof d.msg.properties.messageId === "string" ? d.msg.properties.messageId : undefined;
  const job = typeof d.msg.properties.type === "string" ? d.msg.properties.type : d.msg.fields.routingKey;
  return withLogContext({ jobId, job }, () => handleInContext(d, shutdown));
}

async function handleInContext(d: Delivery, shutdown?: AbortSignal): Promise<void> {
  // 1. What is it? Anything that does not parse can never succeed.
  let id: bigint | null = null;
  let kind: JobKind;
  let payload: unknown;
  try {
    const envelope = envelopeSchema.parse(JSON.parse(d.msg.content.toString("utf8")));
    id = BigInt(envelope.id);
    if (!isJobKind(envelope.kind)) throw new PermanentJobError(`unknown job kind ${JSON.stringify(envelope.kind)}`);
    kind = envelope.kind;
    payload = jobSchemas[kind].parse(envelope.payload);
  } catch (e) {
    const reason = `poison message: ${e instanceof SyntaxError ? `not JSON (${e.message})` : reasonOf(e)}`;
    try {
      await deadLetter(d, reason, 0);
      if (id !== null) await markDead(id, null, reason).catch(() => undefined);
      ack(d);
      countOutcome("unknown", "dead");
      log("error", `dead-lettered a message${id === null ? "" : ` for job ${id}`}: ${reason}`);
    } catch (publishError) {
      log("error", `could not dead-letter a poison message (${reasonOf(publishError)}); the broker will redeliver it`);
      d.channel.nack(d.msg, false, true);
    }
    return;
  }

  // 2. Claim the row. A database that is away: nack, and the retry queue brings the message back in 5 s.
  let claim;
  try {
    claim = await claimJob(id);
  } catch (e) {
    log("warn", `job ${id}: cannot claim it (${reasonOf(e)}); retrying in ${topology.retryDelayMs / 1000} s`);
    try {
      d.channel.nack(d.msg, false, false);
    } catch {
      /* channel gone: the broker redelivers */
    }
    return;
  }
  if (!claim.claimed) {
    // done / dead / leased by another worker / gone: a duplicate or a redelivery. Nothing to do.
    ack(d);
    countOutcome(kind, "skipped");
    return;
  }
  const { token, attempts } = claim;
  if (attempts > topology.maxAttempts + CRASH_ALLOWANCE) {
    const reason = `the worker stopped ${attempts - 1} times while running this job (it may crash the worker); not running it again`;
    await deadLetter(d, reason, attempts).catch(() => undefined);
    await markDead(id, token, reason).catch(() => undefined);
    ack(d);
    countOutcome(kind, "dead");
    log("error", `job ${id} (${kind}) dead-lettered: ${reason}`);
    return;
  }

  // 3. Run it, holding the lease.
  const startedAt = performance.now();
  try {
    await runClaimedJob(id, kind, payload, token, attempts, claim.checkpoint, shutdown);
    ack(d);
    countOutcome(kind, "done", startedAt);
  } catch (e) {
    await settleFailure(d, id, kind, token, attempts, e, shutdown);
  }
}

/**
 * Runs a claimed job's handler while extending its lease, and marks the row done (in the handler's
 * own transaction when it calls ctx.finish). Throws what the handler threw; a lost lease surfaces as
 * LeaseLostError. Also used by tests to run queued jobs without a broker.
 */
export async function runClaimedJob(
  id: bigint,
  kind: JobKind,
  payload: unknown,
  token: string,
  attempts: number,
  checkpoint: unknown,
  shutdown?: AbortSignal,
): Promise<void> {
  const controller = new AbortController();
  const onShutdown = () => controller.abort(shutdown?.reason ?? new Error("the worker is shutting down"));
  shutdown?.addEventListener("abort", onShutdown, { once: true });
  const stopHeartbeat = heartbeat(id, token, controller);
  let finished = false;
  const ctx: JobContext = {
    jobId: id,
    attempt: attempts,
    signal: controller.signal,
    checkpoint,
    saveCheckpoint: (data) => saveCheckpoint(id, token, data as Prisma.InputJsonValue | null),
    finish: async (tx: Tx | Prisma.TransactionClient) => {
      await finishJob(tx, id, token);
      finished = true;
    },
  };
  try {
    await (handlers[kind] as (p: unknown, c: JobContext) => Promise<void>)(payload, ctx);
    if (!finished) await finishJob(null, id, token);
  } catch (e) {
    if (controller.signal.reason instanceof LeaseLostError && !(e instanceof LeaseLostError)) throw controller.signal.reason;
    throw e;
  } finally {
    stopHeartbeat();
    shutdown?.removeEventListener("abort", onShutdown);
  }
}

async function settleFailure(
  d: Delivery,
  id: bigint,
  kind: JobKind,
  token: string,
  attempts: number,
  error: unknown,
  shutdown?: AbortSignal,
): Promise<void> {
  if (error instanceof LeaseLostError) {
    log("warn", `job ${id} (${kind}): lease lost; another worker has it`);
    ack(d);
    return;
  }
  const reason = reasonOf(error);
  if (shutdown?.aborted) {
    // Not the job's fault: give it back at once, without counting the attempt.
    await releaseToPending(id, token, `interrupted by a worker shutdown: ${reason}`).catch(() => undefined);
    ack(d);
    return;
  }
  const permanent = error instanceof PermanentJobError;
  const final = permanent || attempts >= topology.maxAttempts;
  try {
    if (final) {
      const why = permanent ? reason : `gave up after ${attempts} attempts: ${reason}`;
      await deadLetter(d, why, attempts);
      await markDead(id, token, why);
      countOutcome(kind, "dead");
      log("error", `job ${id} (${kind}) dead-lettered: ${why}`);
    } else {
      const delay = await retryLater(d, attempts, reason);
      await markRetrying(id, token, reason);
      countOutcome(kind, "retry");
      log("warn", `job ${id} (${kind}) failed (attempt ${attempts}/${topology.maxAttempts}), retrying in ${delay / 1000} s: ${reason}`);
    }
  } catch (e) {
    // The broker went away (or refused the copy): the relay publishes the row again once it is back.
    await releaseToPending(id, token, reason).catch(() => undefined);
    log("warn", `job ${id} (${kind}) failed (${reason}) and its retry could not be queued (${reasonOf(e)}); it waits in the outbox`);
  }
  ack(d);
}
