import type { Db } from "~/server/db/client";
import type { Prisma } from "~/server/db/generated/client";
import { DomainError } from "~/server/errors";

// Per-user storage accounting. usedBytes counts committed files (trash included); reservedBytes
// counts what open upload sessions have been promised. Every change is one conditional UPDATE, so
// two concurrent requests can never both squeeze under the limit (no read-then-write race).

// A transaction client as db.$transaction hands it out (the read-replica extension changes its
// type), or as code typed with Prisma.TransactionClient holds it: the same object at run time.
type ExtendedTx = Parameters<Extract<Parameters<Db["$transaction"]>[0], (...args: never[]) => unknown>>[0];
export type AnyTx = ExtendedTx | Prisma.TransactionClient;
type Tx = Prisma.TransactionClient;
const asTx = (tx: AnyTx) => tx as Tx;
export type Bytes = number | bigint;

function toBig(bytes: Bytes): bigint {
  const b = typeof bytes === "bigint" ? bytes : BigInt(bytes);
  if (b < 0n) throw new RangeError(`negative byte count ${b}`);
  return b;
}

async function quotaExceeded(tx: Tx, userId: string, bytes: bigint): Promise<DomainError> {
  const user = await tx.user.findUnique({
    where: { id: userId },
    select: { quotaBytes: true, usedBytes: true, reservedBytes: true },
  });
  if (!user) return new DomainError("NOT_FOUND", "User not found");
  const free = user.quotaBytes - user.usedBytes - user.reservedBytes;
  return new DomainError("PAYLOAD_TOO_LARGE", "Not enough space left in your drive", {
    details: {
      quotaBytes: Number(user.quotaBytes),
      usedBytes: Number(user.usedBytes),
      reservedBytes: Number(user.reservedBytes),
      requestedBytes: Number(bytes),
      freeBytes: Number(free > 0n ? free : 0n),
    },
  });
}

/** Adds committed bytes; PAYLOAD_TOO_LARGE when used + reserved + bytes would exceed the quota. */
export async function chargeUsed(txIn: AnyTx, userId: string, bytes: Bytes): Promise<void> {
  const tx = asTx(txIn);
  const b = toBig(bytes);
  if (b === 0n) return;
  const n = await tx.$executeRaw`
    UPDATE \`User\` SET usedBytes = usedBytes + ${b}, updatedAt = NOW(3)
    WHERE id = ${userId} AND usedBytes + reservedBytes + ${b} <= quotaBytes`;
  if (n !== 1) throw await quotaExceeded(tx, userId, b);
}

/** Gives committed bytes back (a file purged). Never goes below zero. */
export async function refundUsed(txIn: AnyTx, userId: string, bytes: Bytes): Promise<void> {
  const tx = asTx(txIn);
  const b = toBig(bytes);
  if (b === 0n) return;
  await tx.$executeRaw`
    UPDATE \`User\` SET usedBytes = IF(usedBytes > ${b}, usedBytes - ${b}, 0), updatedAt = NOW(3)
    WHERE id = ${userId}`;
}

/** Promises bytes to an upload session; PAYLOAD_TOO_LARGE when they do not fit. */
export async function reserve(txIn: AnyTx, userId: string, bytes: Bytes): Promise<void> {
  const tx = asTx(txIn);
  const b = toBig(bytes);
  if (b === 0n) return;
  const n = await tx.$executeRaw`
    UPDATE \`User\` SET reservedBytes = reservedBytes + ${b}, updatedAt = NOW(3)
    WHERE id = ${userId} AND usedBytes + reservedBytes + ${b} <= quotaBytes`;
  if (n !== 1) throw await quotaExceeded(tx, userId, b);
}

/** Withdraws a reservation (session aborted or expired). Never goes below zero. */
export async function release(txIn: AnyTx, userId: string, bytes: Bytes): Promise<void> {
  const tx = asTx(txIn);
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
export async function commitReserved(txIn: AnyTx, userId: string, reserved: Bytes, used: Bytes): Promise<void> {
  const tx = asTx(txIn);
  const r = toBig(reserved);
  const u = toBig(used);
  await tx.$executeRaw`
    UPDATE \`User\`
    SET reservedBytes = IF(reservedBytes > ${r}, reservedBytes - ${r}, 0), usedBytes = usedBytes + ${u}, updatedAt = NOW(3)
    WHERE id = ${userId}`;
}
