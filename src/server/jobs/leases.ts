import { randomBytes } from "node:crypto";
import type { Prisma } from "~/server/db/generated/client";
import { db, type Tx } from "~/server/db/client";
import { env } from "~/env";

// The one owner of an outbox row's life after it was published (STYLE.md, habit 13):
//
//   pending ──relay──► published ──claim──► running ──finish (in the handler's commit)──► done
//      ▲                   ▲                   │ ├─ retry: a copy waits in a delay queue ─┘(published)
//      │                   │                   │ └─ dead: a copy goes to the dead letters ──► failed
//      └── lease expired (worker died) ────────┘
//
// A worker claims a row by writing a random lease token and an expiry; while the handler runs it
// extends the lease (every third of JOB_LEASE_SECONDS). A second delivery of the same job — a
// redelivery after a connection loss, a duplicate publish — finds the row leased and is dropped, so
// a long transfer never runs twice at once. A worker that dies stops extending; once the lease has
// expired the row goes back to pending (./maintenance.ts) and is published again. Every transition
// below names the token, so a worker that lost its lease can no longer change the row.

export type ClaimResult =
  | { claimed: true; token: string; attempts: number; checkpoint: unknown }
  | { claimed: false; why: "gone" | "done" | "dead" | "leased" | "not-due" };

export class LeaseLostError extends Error {
  constructor(id: bigint) {
    super(`job ${id}: the lease was lost (another worker took the job over)`);
    this.name = "LeaseLostError";
  }
}

export function leaseSeconds(): number {
  return env.JOB_LEASE_SECONDS;
}

/**
 * Claims a job for this worker: a published one (the relay published it when due, so a clock that
 * differs between hosts never makes a delivered job look early), a due pending one (a duplicate of
 * a publish whose commit was lost), or one whose worker's lease ran out.
 */
export async function claimJob(id: bigint): Promise<ClaimResult> {
  const token = randomBytes(12).toString("hex");
  const us = Math.round(leaseSeconds() * 1_000_000);
  const n = await db.$executeRaw`
    UPDATE TransferOutbox
    SET state = 'running', leaseToken = ${token}, leaseUntil = NOW(3) + INTERVAL ${us} MICROSECOND,
        attempts = attempts + 1, updatedAt = NOW(3)
    WHERE id = ${id}
      AND (state = 'published' OR (state = 'pending' AND availableAt <= NOW(3)) OR (state = 'running' AND leaseUntil < NOW(3)))`;
  const row = await db.$primary().transferOutbox.findUnique({
    where: { id },
    select: { state: true, leaseToken: true, attempts: true, checkpoint: true },
  });
  if (n === 1 && row?.leaseToken === token) return { claimed: true, token, attempts: row.attempts, checkpoint: row.checkpoint };
  if (!row) return { claimed: false, why: "gone" }; // done and cleaned up since
  if (row.state === "done") return { claimed: false, why: "done" };
  if (row.state === "failed") return { claimed: false, why: "dead" };
  if (row.state === "running") return { claimed: false, why: "leased" };
  return { claimed: false, why: "not-due" };
}

/** Pushes the lease out again; false once it is no longer ours. */
export async function extendLease(id: bigint, token: string): Promise<boolean> {
  const us = Math.round(leaseSeconds() * 1_000_000);
  const n = await db.$executeRaw`
    UPDATE TransferOutbox SET leaseUntil = NOW(3) + INTERVAL ${us} MICROSECOND, updatedAt = NOW(3)
    WHERE id = ${id} AND leaseToken = ${token} AND state = 'running'`;
  return n === 1;
}

/** Records the handler's progress (e.g. a multipart upload id) so the next attempt can clean up after a crash. */
export async function saveCheckpoint(id: bigint, token: string, checkpoint: Prisma.InputJsonValue | null): Promise<void> {
  const value = checkpoint === null ? null : JSON.stringify(checkpoint);
  const n = await db.$executeRaw`
    UPDATE TransferOutbox SET checkpoint = ${value}, updatedAt = NOW(3)
    WHERE id = ${id} AND leaseToken = ${token} AND state = 'running'`;
  if (n !== 1) throw new LeaseLostError(id);
}

/**
 * Marks the job done — inside `tx`, the handler's own transaction, so the change and "done" commit
 * together — only while this worker holds the lease; otherwise the transaction must roll back.
 */
export async function finishJob(tx: Tx | Prisma.TransactionClient | null, id: bigint, token: string): Promise<void> {
  const client = (tx ?? db) as Prisma.TransactionClient;
  const n = await client.$executeRaw`
    UPDATE TransferOutbox
    SET state = 'done', leaseToken = NULL, leaseUntil = NULL, lastError = NULL, checkpoint = NULL, updatedAt = NOW(3)
    WHERE id = ${id} AND leaseToken = ${token} AND state = 'running'`;
  if (n !== 1) throw new LeaseLostError(id);
}

/** A retry copy is waiting in a delay queue: the row is published again, with the reason. */
export async function markRetrying(id: bigint, token: string, error: string): Promise<void> {
  await db.$executeRaw`
    UPDATE TransferOutbox
    SET state = 'published', publishedAt = NOW(3), leaseToken = NULL, leaseUntil = NULL, lastError = ${error.slice(0, 4000)}, updatedAt = NOW(3)
    WHERE id = ${id} AND leaseToken = ${token} AND state = 'running'`;
}

/** The retry copy could not be published (the broker went away): the relay publishes the row again. */
export async function releaseToPending(id: bigint, token: string, error: string): Promise<void> {
  await db.$executeRaw`
    UPDATE TransferOutbox
    SET state = 'pending', leaseToken = NULL, leaseUntil = NULL, lastError = ${error.slice(0, 4000)}, updatedAt = NOW(3)
    WHERE id = ${id} AND leaseToken = ${token} AND state = 'running'`;
}

/** Dead-lettered: kept as `failed` with the reason until an operator retries it. */
export async function markDead(id: bigint, token: string | null, error: string): Promise<void> {
  await db.$executeRaw`
    UPDATE TransferOutbox
    SET state = 'failed', leaseToken = NULL, leaseUntil = NULL, lastError = ${error.slice(0, 4000)}, updatedAt = NOW(3)
    WHERE id = ${id} AND state <> 'done' AND (${token} IS NULL OR leaseToken = ${token})`;
}
