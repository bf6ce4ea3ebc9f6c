import { setTimeout as sleep } from "node:timers/promises";
import { db, Prisma, type Tx } from "~/server/db/client";
import { DomainError } from "~/server/errors";
import { isRetryableTxError } from "./db-errors";

// Every change to the SHAPE of a user's tree (move, copy, trash, restore, purge, share save) runs in
// one transaction that first locks the owner's User row. That serialises structural changes per
// user, so "move X into F" can never interleave with "trash F" and leave a live entry inside a
// trashed folder, and the recursive CTEs below always walk a tree nobody else is reshaping.
// Locking the User row first is also the order quota charges take (chargeUsed updates that row),
// so copies and purges never deadlock against each other.
//
// Inserting one entry (mkdir, uploads) does not take the lock: it takes a shared lock on the parent
// folder row (assertParentFolder), which a concurrent trash of that folder (an UPDATE of the row)
// waits for, and READ COMMITTED makes the trash's CTE, which runs after that UPDATE, see the
// committed child.

export type { Tx };

const MAX_ATTEMPTS = 4;

export interface TreeTxOptions {
  /** Milliseconds the transaction may run (big copies and purges take a while). */
  timeout?: number;
}

/** Runs `fn` in a READ COMMITTED transaction holding the tree lock of `ownerId`; retries deadlocks. */
export async function withTreeLock<T>(ownerId: string, fn: (tx: Tx) => Promise<T>, options: TreeTxOptions = {}): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.$transaction(
        async (tx) => {
          await lockTree(tx, ownerId);
          return fn(tx);
        },
        {
          isolationLevel: Prisma.TransactionIsolationLevel.ReadCommitted,
          maxWait: 10_000,
          timeout: options.timeout ?? 60_000,
        },
      );
    } catch (e) {
      if (attempt >= MAX_ATTEMPTS || !isRetryableTxError(e)) throw e;
      await sleep(10 * attempt + Math.floor(Math.random() * 20));
    }
  }
}

/** Takes the tree lock of `ownerId` in a transaction the caller already runs. */
export async function lockTree(tx: Tx, ownerId: string): Promise<void> {
  const rows = await tx.$queryRaw<Array<{ id: string }>>`SELECT id FROM \`User\` WHERE id = ${ownerId} FOR UPDATE`;
  if (rows.length === 0) throw new DomainError("NOT_FOUND", "User not found");
}
