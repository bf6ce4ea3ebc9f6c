import type { Prisma } from "~/server/db/generated/client";
import { db, type Tx } from "~/server/db/client";
import { publisherChannel } from "~/server/queue/connection";
import { topology } from "~/server/queue/topology";
import { jobSchemas, type Envelope, type JobKind, type JobPayload } from "./definitions";

// Transactional outbox: a job is a row written in the same transaction as the change that needs
// it, so a crash can never commit the change and lose the job (the seed's publish-after-commit
// lost them). relayOutbox() publishes pending rows with publisher confirms; the consumer acks only
// after its own commit and skips rows already done, so delivery is at-least-once and idempotent.

/** `tx` as db.$transaction hands it out, or typed as Prisma.TransactionClient: the same object at run time. */
export async function enqueueJob<K extends JobKind>(
  tx: Tx | Prisma.TransactionClient,
  kind: K,
  payload: JobPayload<K>,
): Promise<bigint> {
  const parsed = jobSchemas[kind].parse(payload);
  const row = await (tx as Prisma.TransactionClient).transferOutbox.create({ data: { kind, payload: parsed as Prisma.InputJsonValue } });
  return row.id;
}

/** Rows published but not confirmed done for this long are published again (a lost message). */
const REPUBLISH_AFTER_MS = 10 * 60_000;

/** Publishes due outbox rows; returns how many were published. Safe to run on many instances. */
export async function relayOutbox(limit = 100): Promise<number> {
  const now = new Date();
  const stale = new Date(now.getTime() - REPUBLISH_AFTER_MS);
  const rows = await db.$transaction(async (tx) => {
    const due = await tx.$queryRaw<Array<{ id: bigint }>>`
      SELECT id FROM TransferOutbox
      WHERE (state = 'pending' AND availableAt <= ${now}) OR (state = 'published' AND updatedAt < ${stale})
      ORDER BY id LIMIT ${limit} FOR UPDATE SKIP LOCKED`;
    if (due.length === 0) return [];
    const ids = due.map((r) => r.id);
    await tx.transferOutbox.updateMany({ where: { id: { in: ids } }, data: { state: "published", attempts: { increment: 1 } } });
    return tx.transferOutbox.findMany({ where: { id: { in: ids } }, orderBy: { id: "asc" } });
  });
  if (rows.length === 0) return 0;
  const channel = await publisherChannel();
  for (const row of rows) {
    const envelope: Envelope = { id: row.id.toString(), kind: row.kind, payload: row.payload };
    channel.publish(topology.workExchange, row.kind, Buffer.from(JSON.stringify(envelope)), {
      persistent: true,
      messageId: row.id.toString(),
      contentType: "application/json",
      type: row.kind,
    });
  }
  try {
    await channel.waitForConfirms();
  } catch (e) {
    // Not confirmed: put them back so the next relay publishes them again.
    await db.transferOutbox.updateMany({
      where: { id: { in: rows.map((r) => r.id) }, state: "published" },
      data: { state: "pending", lastError: `publish not confirmed: ${e instanceof Error ? e.message : e}` },
    });
    throw e;
  }
  return rows.length;
}

export async function markJobDone(id: bigint): Promise<void> {
  await db.transferOutbox.updateMany({ where: { id, state: { not: "done" } }, data: { state: "done", lastError: null } });
}

export async function markJobFailed(id: bigint, error: string, final: boolean): Promise<void> {
  await db.transferOutbox.updateMany({
    where: { id, state: { not: "done" } },
    data: { lastError: error.slice(0, 4000), ...(final ? { state: "failed" } : {}) },
  });
}

export async function isJobDone(id: bigint): Promise<boolean> {
  const row = await db.$primary().transferOutbox.findUnique({ where: { id }, select: { state: true } });
  return row?.state === "done";
}
