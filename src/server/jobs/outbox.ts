import type { Prisma } from "~/server/db/generated/client";
import { db, type Tx } from "~/server/db/client";
import { publishConfirmed, publisherChannel } from "~/server/queue/connection";
import { topology } from "~/server/queue/topology";
import { jobSchemas, type Envelope, type JobKind, type JobPayload } from "./definitions";

// Transactional outbox: a job is a row written in the same transaction as the change that needs
// it, so a crash can never commit the change and lose the job (the seed's publish-after-commit lost
// them), and a request never talks to the broker (a broker outage only delays jobs: they wait here).
// The worker's relay publishes due rows as persistent messages and marks them published only once
// the broker confirmed them; the consumer claims a row with a lease before running it and marks it
// done in the handler's own commit (./leases.ts). Delivery is at-least-once, handling exactly-once
// per row: a duplicate message finds its row done, dead or leased by someone else and is dropped.

export interface EnqueueOptions {
  /** What the job is about (a blob id), for status, dedup and requeue. */
  subject?: string;
  /** Not published before this many milliseconds from now (e.g. a grace period). */
  delayMs?: number;
}

/** `tx` as db.$transaction hands it out, or typed as Prisma.TransactionClient: the same object at run time. */
export async function enqueueJob<K extends JobKind>(
  tx: Tx | Prisma.TransactionClient,
  kind: K,
  payload: JobPayload<K>,
  options: EnqueueOptions = {},
): Promise<bigint> {
  const parsed = jobSchemas[kind].parse(payload);
  const row = await (tx as Prisma.TransactionClient).transferOutbox.create({
    data: {
      kind,
      payload: parsed as Prisma.InputJsonValue,
      subject: options.subject ?? null,
      availableAt: new Date(Date.now() + Math.max(0, options.delayMs ?? 0)),
    },
  });
  return row.id;
}

export function envelopeOf(row: { id: bigint; kind: string; payload: unknown }): Buffer {
  const envelope: Envelope = { id: row.id.toString(), kind: row.kind, payload: row.payload };
  return Buffer.from(JSON.stringify(envelope));
}

export function messageProperties(row: { id: bigint; kind: string }) {
  return { persistent: true, messageId: row.id.toString(), contentType: "application/json", type: row.kind };
}

/**
 * Publishes due pending rows (oldest first) and returns how many. The rows stay locked (SKIP LOCKED:
 * relays on other workers take other rows) until the broker confirmed every message, then become
 * `published` in the same transaction; a crash or a refused publish leaves them pending for the next
 * run (a message the broker did get is then a duplicate, which the consumer drops).
 */
export async function relayOutbox(limit = 200): Promise<number> {
  const due = await db.$primary().$queryRaw<Array<{ one: number }>>`
    SELECT 1 AS one FROM TransferOutbox WHERE state = 'pending' AND availableAt <= NOW(3) LIMIT 1`;
  if (due.length === 0) return 0;
  const channel = await publisherChannel();
  return db.$transaction(
    async (tx) => {
      const locked = await tx.$queryRaw<Array<{ id: bigint }>>`
        SELECT id FROM TransferOutbox WHERE state = 'pending' AND availableAt <= NOW(3)
        ORDER BY id LIMIT ${limit} FOR UPDATE SKIP LOCKED`;
      if (locked.length === 0) return 0;
      const ids = locked.map((r) => r.id);
      const rows = await tx.transferOutbox.findMany({ where: { id: { in: ids } }, select: { id: true, kind: true, payload: true }, orderBy: { id: "asc" } });
      await Promise.all(rows.map((row) => publishConfirmed(channel, topology.workExchange, row.kind, envelopeOf(row), messageProperties(row))));
      await tx.transferOutbox.updateMany({ where: { id: { in: ids }, state: "pending" }, data: { state: "published", publishedAt: new Date() } });
      return rows.length;
    },
    { timeout: 60_000, maxWait: 10_000 },
  );
}
