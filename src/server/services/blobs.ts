import { db, type Tx } from "~/server/db/client";
import type { Blob } from "~/server/db/generated/client";
import { enqueueJob } from "~/server/jobs/outbox";
import { DomainError } from "~/server/errors";
import { newEntryId as newBlobId } from "~/server/services/files/ids";
import { createDriver, driverConfigFromEnv, getStorage, type DriverName, type StorageDriver } from "~/server/storage";

// Content-addressed, reference-counted blobs. A blob's identity is the SHA-256 the server computed
// while the bytes streamed in; a client's claimed hash never defines what a blob contains. Each
// entry pointing at a blob holds one reference; a blob at refCount 0 is collectable.
//
// Collection races with uploads of the same content, so a blob leaves in three steps:
//   1. in a transaction, with the row locked: refCount = 0 and state ready → state = deleting;
//   2. delete the bytes at the storageKey read under that lock;
//   3. delete the row only if it is still deleting at that same storageKey.
// An upload that finds a `deleting` row (commitBlob) takes the row over with its own freshly
// written bytes at its own key: step 3 then no longer matches, and step 2 only ever touched the
// old key. Every blob key is unique per upload, so two generations never share bytes.

const drivers = new Map<string, StorageDriver>();

/** The driver holding a blob's bytes (normally the configured one). */
export function blobStorage(driver: string): StorageDriver {
  const configured = getStorage();
  if (configured.name === driver) return configured;
  let other = drivers.get(driver);
  if (!other) {
    if (driver !== "local" && driver !== "s3" && driver !== "oss") throw new Error(`unknown storage driver ${driver}`);
    const name = driver as DriverName;
    other = createDriver(name, driverConfigFromEnv(name));
    drivers.set(driver, other);
  }
  return other;
}

/** Adds `by` references (a file copied, a share saved). NOT_FOUND when the blob is gone or going. */
export async function retainBlob(tx: Tx, blobId: string, by = 1): Promise<void> {
  if (!Number.isInteger(by) || by < 1) throw new RangeError(`retainBlob: bad count ${by}`);
  const n = await tx.$executeRaw`
    UPDATE \`Blob\` SET refCount = refCount + ${by}, updatedAt = NOW(3)
    WHERE id = ${blobId} AND state <> 'deleting'`;
  if (n !== 1) throw new DomainError("NOT_FOUND", "The file's content is no longer available");
}

/**
 * Drops `by` references (a file purged) and returns how many are left. At 0 the blob is collectable;
 * collectBlobs() (periodic, or scheduleBlobCollection below) removes it. Never goes below zero.
 */
export async function releaseBlob(tx: Tx, blobId: string, by = 1): Promise<number> {
  if (!Number.isInteger(by) || by < 1) throw new RangeError(`releaseBlob: bad count ${by}`);
  await tx.$executeRaw`
    UPDATE \`Blob\` SET refCount = IF(refCount > ${by}, refCount - ${by}, 0), updatedAt = NOW(3)
    WHERE id = ${blobId}`;
  const rows = await tx.$queryRaw<Array<{ refCount: number }>>`SELECT refCount FROM \`Blob\` WHERE id = ${blobId}`;
  return Number(rows[0]?.refCount ?? 0);
}

/** Queues a collection run in the same transaction (after purges that dropped blobs to 0). */
export async function scheduleBlobCollection(tx: Tx, reason: string): Promise<void> {
  await enqueueJob(tx, "blob.collect.v1", { reason: reason.slice(0, 64) });
}

export interface CommittedBlob {
  blob: Blob;
  /** True when this upload's bytes became (or revived) the blob; false when the content existed. */
  created: boolean;
}

/**
 * Records freshly uploaded, verified bytes as a blob holding one new reference. When a blob with
 * this content exists, it gains the reference instead and the caller deletes its own copy after
 * the transaction commits (`created: false`). A blob being collected is taken over with the new
 * bytes. Leaves the row locked (exclusively) until the transaction ends. A transaction committing
 * several blobs commits them in ascending sha256 (the order of the unique key locked here).
 *
 * One INSERT ... ON DUPLICATE KEY UPDATE, never "SELECT ... FOR UPDATE, then INSERT if absent":
 * under REPEATABLE READ that SELECT of a missing sha256 locks the GAP where it would go, gap locks do
 * not conflict with each other, and two uploads of new content landing in one gap then each wait
 * for the other's gap lock to INSERT — the deadlock seen whenever several new files completed at
 * once. (An "UPDATE, then INSERT if nothing matched" has the same gap lock under REPEATABLE READ.)
 * The upsert takes no gap lock to insert new content; when another upload is inserting the same
 * content right now it waits for that row's exclusive lock and then counts itself in, asking for
 * the exclusive lock from the start (no shared-to-exclusive upgrade for two waiters to deadlock on).
 * On existing content it locks the key with its gap (a next-key lock), hence the ascending order.
 */
export async function commitBlob(
  tx: Tx,
  input: { sha256: string; size: number; driver: string; storageKey: string },
): Promise<CommittedBlob> {
  // Assignments run left to right and see the columns already assigned: `state` goes last.
  await tx.$executeRaw`
    INSERT INTO \`Blob\` (id, sha256, size, driver, storageKey, refCount, state, createdAt, updatedAt)
    VALUES (${newBlobId()}, ${input.sha256}, ${BigInt(input.size)}, ${input.driver}, ${input.storageKey}, 1, 'ready', NOW(3), NOW(3))
    ON DUPLICATE KEY UPDATE
      refCount = IF(state = 'deleting', 1, refCount + 1),
      driver = IF(state = 'deleting', VALUES(driver), driver),
      storageKey = IF(state = 'deleting', VALUES(storageKey), storageKey),
      updatedAt = NOW(3),
      state = 'ready'`;
  const blob = await tx.blob.findUniqueOrThrow({ where: { sha256: input.sha256 } });
  if (Number(blob.size) !== input.size) {
    // Same SHA-256, different length: not a collision anyone has found; refuse rather than alias
    // (the transaction rolls back, reference included).
    throw new DomainError("INTERNAL_SERVER_ERROR", "Stored content disagrees with its digest");
  }
  // Every upload writes its own key, so the row holds our key exactly when our bytes are the blob's.
  const created = blob.storageKey === input.storageKey && blob.driver === input.driver;
  return { blob, created };
}

/** A ready blob with this content, for 秒传 (never trusted without a proof of possession). */
export async function findReadyBlob(sha256: string, size: number): Promise<Blob | null> {
  return db.$primary().blob.findFirst({ where: { sha256, size: BigInt(size), state: "ready" } });
}

/** Blobs marked deleting longer ago than this are retried (a collector died between the steps). */
const STUCK_DELETING_MS = 10 * 60_000;

async function markForDeletion(blobId: string): Promise<{ driver: string; storageKey: string } | null> {
  return db.$transaction(async (tx) => {
    const rows = await tx.$queryRaw<Array<{ driver: string; storageKey: string; refCount: number; state: string }>>`
      SELECT driver, storageKey, refCount, state FROM \`Blob\` WHERE id = ${blobId} FOR UPDATE`;
    const row = rows[0];
    if (!row || Number(row.refCount) !== 0) return null;
    if (row.state === "deleting") return { driver: row.driver, storageKey: row.storageKey };
    if (row.state !== "ready") return null;
    // A reference count that lost track must never cost data: trust the entries over the counter.
    const referenced = await tx.$queryRaw<Array<{ n: bigint }>>`SELECT COUNT(*) AS n FROM Entry WHERE blobId = ${blobId}`;
    const actual = Number(referenced[0]?.n ?? 0);
    if (actual > 0) {
      console.error(`[blobs] blob ${blobId} has refCount 0 but ${actual} entries; repairing the count`);
      await tx.$executeRaw`UPDATE \`Blob\` SET refCount = ${actual}, updatedAt = NOW(3) WHERE id = ${blobId}`;
      return null;
    }
    await tx.$executeRaw`UPDATE \`Blob\` SET state = 'deleting', updatedAt = NOW(3) WHERE id = ${blobId}`;
    return { driver: row.driver, storageKey: row.storageKey };
  });
}

/**
 * Deletes the bytes and rows of blobs nothing refers to. Safe to run on several workers at once and
 * concurrently with uploads of the same content. Returns how many blobs were removed.
 */
export async function collectBlobs(options: { batchSize?: number; maxBatches?: number } = {}): Promise<number> {
  const batchSize = options.batchSize ?? 100;
  const maxBatches = options.maxBatches ?? 100;
  let removed = 0;
  const skipped = new Set<string>();
  for (let batch = 0; batch < maxBatches; batch++) {
    const stuckBefore = new Date(Date.now() - STUCK_DELETING_MS);
    const candidates = await db.$primary().$queryRaw<Array<{ id: string }>>`
      SELECT id FROM \`Blob\`
      WHERE refCount = 0 AND (state = 'ready' OR (state = 'deleting' AND updatedAt < ${stuckBefore}))
      ORDER BY updatedAt LIMIT ${batchSize + skipped.size}`;
    const todo = candidates.filter((c) => !skipped.has(c.id));
    if (todo.length === 0) break;
    for (const { id } of todo) {
      const target = await markForDeletion(id);
      if (!target) {
        skipped.add(id);
        continue;
      }
      try {
        await blobStorage(target.driver).delete(target.storageKey);
      } catch (e) {
        // Leave it `deleting`; a later run retries once it is STUCK_DELETING_MS old.
        console.error(`[blobs] deleting bytes of blob ${id} failed: ${e instanceof Error ? e.message : e}`);
        skipped.add(id);
        continue;
      }
      const n = await db.$executeRaw`
        DELETE FROM \`Blob\` WHERE id = ${id} AND state = 'deleting' AND refCount = 0 AND storageKey = ${target.storageKey}`;
      if (n === 1) removed++;
      else skipped.add(id);
    }
    if (todo.length < batchSize) break;
  }
  return removed;
}
