import type { Tx } from "~/server/db/client";
import { noteWrite } from "~/server/db/causal";
import { runTransaction } from "~/server/db/transaction";
import { DomainError } from "~/server/errors";

// THE LOCK ORDER. Every transaction that changes a user's tree or storage accounting (mkdir,
// rename, move, copy, trash, restore, purge, share save, upload init/complete/abort, POST
// /api/files, 秒传) runs through withTreeLock and takes its locks in this order:
//
//   1. the owner's User row (FOR UPDATE, here). This serialises every structural change and every
//      quota change of one user, so "put X into F" can never interleave with "trash F" and leave a
//      live entry inside a trashed folder, and the recursive CTEs walk a tree nobody is reshaping;
//   2. that user's Entry rows: the target folder (assertParentFolder, shared) and the entries
//      changed (requireLiveEntries, id order); they are only ever locked under lock 1, so their
//      order relative to anyone else's locks cannot close a cycle;
//   3. Blob rows, last, in ascending id (retainBlob/releaseBlob) — or commitBlob for content met for
//      the first time. Blobs are shared between users, so this is where different users meet.
//      Locking reads of entries never join Blob (tree.ts), so a blob is never locked early by accident.
//   4. then the rows this transaction creates (new entries, which need their blob to exist) and its
//      upload session's rows.
//
// Transactions run REPEATABLE READ (runTransaction; its comment says why not READ COMMITTED). Content
// met for the first time is inserted with INSERT … ON DUPLICATE KEY UPDATE (commitBlob), never looked
// up with a locking read first, so no gap lock is taken on a SHA-256 that does not exist yet. What
// ordering cannot rule out (next-key locks InnoDB takes to check unique keys) is retried whole by
// runTransaction, the one retry helper.

export type { Tx };

export interface TreeTxOptions {
  /** Milliseconds the transaction may run (big copies and purges take a while). */
  timeout?: number;
}

/** Runs `fn` in a transaction holding the tree lock of `ownerId`; retries deadlocks. */
export async function withTreeLock<T>(ownerId: string, fn: (tx: Tx) => Promise<T>, options: TreeTxOptions = {}): Promise<T> {
  const result = await runTransaction(
    async (tx) => {
      await lockTree(tx, ownerId);
      return fn(tx);
    },
    { timeout: options.timeout ?? 60_000 },
  );
  // The owner's next replica reads wait for this commit (db/causal.ts): every upload, rename, move,
  // trash... of a drive goes through here, including the raw upload routes.
  await noteWrite(ownerId);
  return result;
}

/** Takes the tree lock of `ownerId` in a transaction the caller already runs. */
export async function lockTree(tx: Tx, ownerId: string): Promise<void> {
  const rows = await tx.$queryRaw<Array<{ id: string }>>`SELECT id FROM \`User\` WHERE id = ${ownerId} FOR UPDATE`;
  if (rows.length === 0) throw new DomainError("NOT_FOUND", "User not found");
}
