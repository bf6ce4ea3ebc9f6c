import { db, type Tx } from "~/server/db/client";
import { DomainError } from "~/server/errors";

// Per-user storage accounting. usedBytes counts committed files (trash included); reservedBytes
// counts what open upload sessions have been promised. Every change is one conditional UPDATE, so
// two concurrent requests can never both squeeze under the limit (no read-then-write race).
// Callers hold the user's tree lock (tree-tx.ts: the User row, first), so these UPDATEs of that row
// never wait half-way through a transaction that already holds folder or blob locks.

export type Bytes = number | bigint;

function toBig(bytes: Bytes): bigint {
  const b = typeof bytes === "bigint" ? bytes : BigInt(bytes);
  if (b < 0n) throw new RangeError(`negative byte count ${b}`);
  return b;
}

/** The user's quota, committed and reserved bytes, and what is still free (never negative); null for no such user. */
export async function quotaState(userId: string, tx?: Tx) {
  const client = tx ?? db.$primary();
  const user = await client.user.findUnique({
    where: { id: userId },
    select: { quotaBytes: true, usedBytes: true, reservedBytes: true },
  });
  if (!user) return null;
  const free = user.quotaBytes - user.usedBytes - user.reservedBytes;
  return { ...user, freeBytes: free > 0n ? free : 0n };
}

async function quotaExceeded(tx: Tx, userId: string, bytes: bigint): Promise<DomainError> {
  const user = await quotaState(userId, tx);
  if (!user) return new DomainError("NOT_FOUND", "User not found");
  return new DomainError("PAYLOAD_TOO_LARGE", "Not enough space left in your drive", {
    details: {
      quotaBytes: Number(user.quotaBytes),
      usedBytes: Number(user.usedBytes),
      reservedBytes: Number(user.reservedBytes),
      requestedBytes: Number(bytes),
      freeBytes: Number(user.freeBytes),
    },
  });
}

/** Adds committed bytes; PAYLOAD_TOO_LARGE when used + reserved + bytes would exceed the quota. */
export async function chargeUsed(tx: Tx, userId: string, bytes: Bytes): Promise<void> {
  const b = toBig(bytes);
  if (b === 0n) return;
  const n = await tx.$executeRaw`
    UPDATE \`User\` SET usedBytes = usedBytes + ${b}, updatedAt = NOW(3)
    WHERE id = ${userId} AND usedBytes + reservedBytes + ${b} <= quotaBytes`;
  if (n !== 1) throw await quotaExceeded(tx, userId, b);
}

/** Gives committed bytes back (a file purged). Never goes below zero. */
export async function refundUsed(tx: Tx, userId: string, bytes: Bytes): Promise<void> {
  const b = toBig(bytes);
  if (b === 0n) return;
  await tx.$executeRaw`
    UPDATE \`User\` SET usedBytes = IF(usedBytes > ${b}, usedBytes - ${b}, 0), updatedAt = NOW(3)
    WHERE id = ${userId}`;
}

/** Promises bytes to an upload session; PAYLOAD_TOO_LARGE when they do not fit. */
export async function reserve(tx: Tx, userId: string, bytes: Bytes): Promise<void> {
  const b = toBig(bytes);
  if (b === 0n) return;
  const n = await tx.$executeRaw`
    UPDATE \`User\` SET reservedBytes = reservedBytes + ${b}, updatedAt = NOW(3)
    WHERE id = ${userId} AND usedBytes + reservedBytes + ${b} <= quotaBytes`;
  if (n !== 1) throw await quotaExceeded(tx, userId, b);
}

/** Withdraws a reservation (session aborted or expired). Never goes below zero. */
export async function release(tx: Tx, userId: string, bytes: Bytes): Promise<void> {
  const b = toBig(bytes);
  if (b === 0n) return;
  await tx.$executeRaw`
    UPDATE \`User\` SET reservedBytes = IF(reservedBytes > ${b}, reservedBytes - ${b}, 0), updatedAt = NOW(3)
    WHERE id = ${userId}`;
}

/**
 * Turns a reservation into committed bytes in one statement (an upload completed). The reservation
 * already passed the quota check, so this never fails on quota, even if the quota was lowered since.
 */
export async function commitReserved(tx: Tx, userId: string, reserved: Bytes, used: Bytes): Promise<void> {
  const r = toBig(reserved);
  const u = toBig(used);
  await tx.$executeRaw`
    UPDATE \`User\`
    SET reservedBytes = IF(reservedBytes > ${r}, reservedBytes - ${r}, 0), usedBytes = usedBytes + ${u}, updatedAt = NOW(3)
    WHERE id = ${userId}`;
}
