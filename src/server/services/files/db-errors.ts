import { Prisma } from "~/server/db/generated/client";

// Recognising MariaDB errors through Prisma: model queries report P2002 for a duplicate key, raw
// queries P2010 with the driver adapter's error kind; deadlocks and lock-wait timeouts can surface
// as P2034 or as the raw server codes 1213/1205.

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
  const code = adapterCause(e)?.originalCode;
  return code === "1213" || code === "1205";
}
