import { db, Prisma } from "~/server/db/client";
import { envelopeSchema } from "~/server/jobs/definitions";
import { enqueueJob } from "~/server/jobs/outbox";
import { publisherChannel } from "~/server/queue/connection";
import { topology, transitQueues } from "~/server/queue/topology";
import { transferSettings, type TransferSettings } from "./config";

// The operator's view and levers (npm run transfer -- status | retry-dead | requeue <blobId> | backfill).

const TRANSFER = "blob.transfer.v1";
const OPEN_STATES = ["pending", "published", "running"] as const;

export interface TransferStatus {
  settings: TransferSettings | null;
  /** Outbox rows by kind and state (done rows are kept JOB_DONE_RETENTION_HOURS). */
  jobs: Array<{ kind: string; state: string; count: number }>;
  /** Transfers a worker is running now. */
  inFlight: Array<{ id: string; blobId: string | null; attempts: number; leaseUntil: Date | null; size: number | null }>;
  /** The most recent dead jobs and why. */
  dead: Array<{ id: string; kind: string; subject: string | null; attempts: number; lastError: string | null; at: Date }>;
  /** Blobs and bytes per storage driver (tier), by state. */
  tiers: Array<{ driver: string; state: string; blobs: number; bytes: number }>;
  /** Message counts in the broker, or why they could not be read. */
  queues: Array<{ name: string; messages: number; consumers: number }> | { error: string };
}

export async function transferStatus(): Promise<TransferStatus> {
  const primary = db.$primary();
  const jobs = await primary.$queryRaw<Array<{ kind: string; state: string; n: bigint }>>`
    SELECT kind, state, COUNT(*) AS n FROM TransferOutbox GROUP BY kind, state ORDER BY kind, state`;
  const running = await primary.$queryRaw<Array<{ id: bigint; subject: string | null; attempts: number; leaseUntil: Date | null; size: bigint | null }>>`
    SELECT o.id, o.subject, o.attempts, o.leaseUntil, b.size FROM TransferOutbox o LEFT JOIN \`Blob\` b ON b.id = o.subject
    WHERE o.state = 'running' AND o.kind = ${TRANSFER} ORDER BY o.id LIMIT 100`;
  const dead = await primary.transferOutbox.findMany({ where: { state: "failed" }, orderBy: { updatedAt: "desc" }, take: 20 });
  const tiers = await primary.$queryRaw<Array<{ driver: string; state: string; n: bigint; bytes: bigint | null }>>`
    SELECT driver, state, COUNT(*) AS n, SUM(size) AS bytes FROM \`Blob\` GROUP BY driver, state ORDER BY driver, state`;
  let queues: TransferStatus["queues"];
  try {
    const channel = await publisherChannel();
    queues = [];
    for (const name of [...transitQueues(), topology.deadQueue]) {
      const q = await channel.checkQueue(name);
      queues.push({ name, messages: q.messageCount, consumers: q.consumerCount });
    }
  } catch (e) {
    queues = { error: e instanceof Error ? e.message : String(e) };
  }
  return {
    settings: transferSettings(),
    jobs: jobs.map((j) => ({ kind: j.kind, state: j.state, count: Number(j.n) })),
    inFlight: running.map((r) => ({ id: r.id.toString(), blobId: r.subject, attempts: r.attempts, leaseUntil: r.leaseUntil, size: r.size === null ? null : Number(r.size) })),
    dead: dead.map((d) => ({ id: d.id.toString(), kind: d.kind, subject: d.subject, attempts: d.attempts, lastError: d.lastError, at: d.updatedAt })),
    tiers: tiers.map((t) => ({ driver: t.driver, state: t.state, blobs: Number(t.n), bytes: Number(t.bytes ?? 0) })),
    queues,
  };
}

export interface RetryDeadResult {
  /** Dead outbox rows put back to pending (the relay publishes them again). */
  requeued: number;
  /** Their copies removed from the dead-letter queue. */
  removedFromDeadQueue: number;
  /** Dead-letter messages with no outbox row to run again (poison), left in the queue for inspection. */
  keptInDeadQueue: number;
}

/**
 * Runs dead jobs again: their rows go back to pending with a fresh attempt count (the relay
 * publishes them), and their copies leave the dead-letter queue. Messages that never had a
 * runnable row (malformed, unknown kind) stay there.
 */
export async function retryDead(options: { kind?: string } = {}): Promise<RetryDeadResult> {
  const requeued = await db.transferOutbox.updateMany({
    where: { state: "failed", ...(options.kind ? { kind: options.kind } : {}) },
    data: { state: "pending", attempts: 0, availableAt: new Date(), leaseToken: null, leaseUntil: null, checkpoint: Prisma.DbNull },
  });
  let removed = 0;
  let kept = 0;
  try {
    const channel = await publisherChannel();
    const held = [];
    for (let i = 0; i < 100_000; i++) {
      const msg = await channel.get(topology.deadQueue, { noAck: false });
      if (!msg) break;
      held.push(msg);
    }
    for (const msg of held) {
      let id: bigint | null = null;
      try {
        id = BigInt(envelopeSchema.parse(JSON.parse(msg.content.toString("utf8"))).id);
      } catch {
        id = null;
      }
      const row = id === null ? null : await db.$primary().transferOutbox.findUnique({ where: { id }, select: { state: true } });
      if (row && row.state !== "failed") {
        channel.ack(msg);
        removed++;
      } else {
        channel.nack(msg, false, true);
        kept++;
      }
    }
  } catch (e) {
    console.warn(`[transfer] the dead-letter queue could not be tidied (${e instanceof Error ? e.message : e}); the jobs run again anyway`);
  }
  return { requeued: requeued.count, removedFromDeadQueue: removed, keptInDeadQueue: kept };
}

export class OperatorError extends Error {}

function requireSettings(): TransferSettings {
  const settings = transferSettings();
  if (!settings) throw new OperatorError("TRANSFER_TARGET is not set: there is no tier to move blobs to");
  return settings;
}

/** Queues the transfer of one blob again (e.g. after fixing what made it fail). */
export async function requeueTransfer(blobId: string, options: { force?: boolean } = {}): Promise<{ jobId: string }> {
  const settings = requireSettings();
  const blob = await db.$primary().blob.findUnique({ where: { id: blobId } });
  if (!blob) throw new OperatorError(`no blob ${blobId}`);
  if (blob.driver === settings.target) throw new OperatorError(`blob ${blobId} is already on ${settings.target}`);
  if (blob.state !== "ready") throw new OperatorError(`blob ${blobId} is ${blob.state}${blob.state === "missing" ? " (its bytes are gone: upload the content again to repair it)" : ""}`);
  if (blob.refCount === 0) throw new OperatorError(`blob ${blobId} has no references left (it is about to be collected)`);
  if (!options.force) {
    const open = await db.$primary().transferOutbox.findFirst({ where: { kind: TRANSFER, subject: blobId, state: { in: [...OPEN_STATES] } } });
    if (open) throw new OperatorError(`blob ${blobId} already has transfer job ${open.id} (${open.state}); --force queues another`);
  }
  const jobId = await db.$transaction((tx) => enqueueJob(tx, TRANSFER, { blobId, storageKey: blob.storageKey }, { subject: blobId }));
  return { jobId: jobId.toString() };
}

/**
 * Queues a transfer for every blob not on the target yet (and big enough), that has no transfer
 * job open: how an existing drive moves from local disk to Ceph or OSS. Safe to run again.
 */
export async function backfillTransfers(options: { batch?: number; limit?: number } = {}): Promise<{ queued: number; bytes: number }> {
  const settings = requireSettings();
  const batch = options.batch ?? 500;
  let after = "";
  let queued = 0;
  let bytes = 0;
  for (;;) {
    const rows = await db.$primary().$queryRaw<Array<{ id: string; storageKey: string; size: bigint }>>`
      SELECT b.id, b.storageKey, b.size FROM \`Blob\` b
      WHERE b.id > ${after} AND b.driver <> ${settings.target} AND b.state = 'ready' AND b.refCount > 0 AND b.size >= ${settings.minBytes}
        AND NOT EXISTS (SELECT 1 FROM TransferOutbox o WHERE o.kind = ${TRANSFER} AND o.subject = b.id AND o.state IN ('pending', 'published', 'running'))
      ORDER BY b.id LIMIT ${batch}`;
    if (rows.length === 0) break;
    const take = options.limit === undefined ? rows : rows.slice(0, options.limit - queued);
    await db.$transaction(async (tx) => {
      for (const r of take) await enqueueJob(tx, TRANSFER, { blobId: r.id, storageKey: r.storageKey }, { subject: r.id });
    });
    queued += take.length;
    bytes += take.reduce((n, r) => n + Number(r.size), 0);
    if (options.limit !== undefined && queued >= options.limit) break;
    after = rows[rows.length - 1]!.id;
  }
  return { queued, bytes };
}
