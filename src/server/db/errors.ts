import { Prisma } from "./generated/client";

// Recognising MariaDB errors through Prisma: model queries report P2002 for a duplicate key and
// P2034 for a rolled-back transaction; raw queries report P2010 with the driver adapter's error
// kind and the server's own code (1062 duplicate key, 1213 deadlock, 1205 lock wait timeout).

function adapterCause(e: Prisma.PrismaClientKnownRequestError): { kind?: string; originalCode?: string } | undefined {
  const meta = e.meta as { driverAdapterError?: { cause?: { kind?: string; originalCode?: string } } } | undefined;
  return meta?.driverAdapterError?.cause;
}

/** A duplicate key on a unique index (for entries: the name is taken in that folder). */
export function isUniqueViolation(e: unknown): boolean {
  if (!(e instanceof Prisma.PrismaClientKnownRequestError)) return false;
  if (e.code === "P2002") return true;
  const cause = adapterCause(e);
  return cause?.kind === "UniqueConstraintViolation" || cause?.originalCode === "1062";
}

/** A transaction the server rolled back to break a deadlock, or that gave up waiting for a lock. */
export function isRetryableTxError(e: unknown): boolean {
  if (!(e instanceof Prisma.PrismaClientKnownRequestError)) return false;
  if (e.code === "P2034") return true;
  const cause = adapterCause(e);
  return cause?.kind === "TransactionWriteConflict" || cause?.originalCode === "1213" || cause?.originalCode === "1205";
}
