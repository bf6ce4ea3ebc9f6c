import { setTimeout as sleep } from "node:timers/promises";
import { db, Prisma, type Tx } from "./client";
import { isRetryableTxError } from "./errors";

// The one place a transaction is retried. InnoDB may roll a transaction back to break a deadlock
// (1213) or give up on a lock wait (1205); either ends the WHOLE transaction, so only a re-run of
// the whole of it is correct, never a retry of the failed statement. Lock ordering (see
// services/files/tree-tx.ts) keeps this rare; the retry is the second line of defence for what
// ordering cannot rule out (InnoDB's gap and next-key locks on unique-key checks).

export interface TransactionOptions {
  /** Runs of the whole transaction before the last error is rethrown. Default 4. */
  attempts?: number;
  /** Milliseconds the transaction may run. Default 15 s. */
  timeout?: number;
  /** Milliseconds to wait for a pool connection. Default 10 s. */
  maxWait?: number;
  /**
   * Default REPEATABLE READ (InnoDB's own default). Not READ COMMITTED: there MariaDB's
   * semi-consistent reads made a conditional `UPDATE … WHERE id = ? AND state = 'open'` that had
   * waited on another transaction's lock of the row report 0 rows for a row that matched (4 of 25
   * parallel chunk writes of one upload failed that way in tests/integration/uploads-concurrency),
   * and the services judge their conditional UPDATEs by that count.
   */
  isolationLevel?: Prisma.TransactionIsolationLevel;
}

let retries = 0;

/** How many transactions this process re-ran after a deadlock or lock wait timeout (tests, metrics). */
export function transactionRetries(): number {
  return retries;
}

/**
 * Runs `fn` again (with jittered backoff) when the server rolled its work back for a deadlock or
 * lock wait timeout. `fn` must be one transaction or one autocommit statement: a rolled-back
 * statement inside a larger transaction must not be retried on its own.
 */
export async function retryOnDeadlock<T>(fn: () => Promise<T>, attempts = 4): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (attempt >= attempts || !isRetryableTxError(e)) throw e;
      retries++;
      await sleep(10 * 2 ** attempt + Math.floor(Math.random() * 25));
    }
  }
}

/**
 * Runs `fn` in an interactive transaction, again when the server rolled it back for a deadlock or
 * lock wait timeout. `fn` may run more than once: it must only touch the database, or do things
 * that are harmless to repeat.
 */
export async function runTransaction<T>(fn: (tx: Tx) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
  return retryOnDeadlock(
    () =>
      db.$transaction(fn, {
        isolationLevel: options.isolationLevel ?? Prisma.TransactionIsolationLevel.RepeatableRead,
        timeout: options.timeout ?? 15_000,
        maxWait: options.maxWait ?? 10_000,
      }),
    options.attempts ?? 4,
  );
}
