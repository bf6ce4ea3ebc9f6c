import { env } from "~/env";
import { db, type Tx } from "~/server/db/client";
import type { Blob } from "~/server/db/generated/client";
import { enqueueJob } from "~/server/jobs/outbox";
import { DomainError } from "~/server/errors";
import { newEntryId as newBlobId } from "~/server/services/files/ids";
import { wantsTransfer } from "~/server/services/transfers/config";
import { createDriver, driverConfigFromEnv, getStorage, type DriverName, type StorageDriver } from "~/server/storage";
import { logger } from "~/server/log";

const log = logger("blobs");

export { collectBlobs } from "./blobs/collect";

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
// old key. Every blob key is unique per upload, so two generations never share bytes (a transfer
// to another tier keeps the key, on the other driver).
//
// A blob's location (driver, storageKey) changes only in a transaction holding its row: a transfer
// moving it to TRANSFER_TARGET, an upload reviving it (above), or an upload repairing it when its
// bytes turned out to be missing (commitBlob, issue 17).

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

/**
 * Queues the deletion of objects no blob owns (storage.discard.v1) in the caller's transaction: the
 * staged bytes of an upload that ended without a file, a superseded copy after `delayMs`.
 */
export async function scheduleObjectDiscard(
  tx: Tx,
  what: { driver: string; key: string; multipartId?: string | null; prefix?: string | null; reason: string },
  options: { delayMs?: number } = {},
): Promise<void> {
  await enqueueJob(
    tx,
    "storage.discard.v1",
    {
      driver: what.driver as DriverName,
      key: what.key,
      ...(what.multipartId ? { multipartId: what.multipartId } : {}),
      ...(what.prefix ? { prefix: what.prefix } : {}),
      reason: what.reason.slice(0, 64),
    },
    options,
  );
}

export interface CommittedBlob {
  blob: Blob;
  /**
   * True when this upload's bytes became the blob's content: new content, a blob being collected
   * that was taken over, or a blob whose stored object was missing (or of the wrong size) and is
   * repaired with these bytes. False when the content exists intact: the caller deletes its own copy
   * after the transaction commits.
   */
  created: boolean;
}

export interface NewBlobBytes {
  sha256: string;
  size: number;
  driver: string;
  storageKey: string;
}

/** True when the blob's object is where its row says, with its size. Unreachable storage counts as not confirmed. */
async function objectIntact(blob: Pick<Blob, "id" | "driver" | "storageKey" | "size">): Promise<boolean> {
  try {
    const head = await blobStorage(blob.driver).head(blob.storageKey);
    if (head && head.size === Number(blob.size)) return true;
    log.error(
      `blob ${blob.id}: ${head ? `the object at ${blob.driver}:${blob.storageKey} has ${head.size} bytes, not ${blob.size}` : `no object at ${blob.driver}:${blob.storageKey}`}; the new upload's bytes replace it`,
    );
  } catch (e) {
    log.error(`blob ${blob.id}: cannot confirm its object at ${blob.driver}:${blob.storageKey} (${e instanceof Error ? e.message : e}); the new upload's bytes replace it`);
  }
  return false;
}

/**
 * Records freshly uploaded, verified bytes as a blob holding one new reference, in the caller's
 * transaction. When a blob with this content exists, it gains the reference, and the drive first
 * confirms (a HEAD, under the row's lock) that its object is there with its size: when it is not —
 * a wiped disk, a lost bucket, a tier restored from an old backup (issue 17) — these bytes become the
 * blob's content (every file pointing at it is repaired) and the old location is discarded after the
 * grace period. A blob being collected is taken over with the new bytes. When the bytes became the
 * blob's and TRANSFER_TARGET is set, a blob.transfer.v1 job is enqueued in the same transaction.
 * Leaves the row locked (exclusively) until the transaction ends. A transaction committing several
 * blobs commits them in ascending sha256 (the order of the unique key locked here).
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
export async function commitBlob(tx: Tx, input: NewBlobBytes): Promise<CommittedBlob> {
  // Assignments run left to right and see the columns already assigned: `state` goes last. A
  // `missing` blob stays missing here; the repair below gives it the new bytes and makes it ready.
  await tx.$executeRaw`
    INSERT INTO \`Blob\` (id, sha256, size, driver, storageKey, refCount, state, createdAt, updatedAt)
    VALUES (${newBlobId()}, ${input.sha256}, ${BigInt(input.size)}, ${input.driver}, ${input.storageKey}, 1, 'ready', NOW(3), NOW(3))
    ON DUPLICATE KEY UPDATE
      refCount = IF(state = 'deleting', 1, refCount + 1),
      driver = IF(state = 'deleting', VALUES(driver), driver),
      storageKey = IF(state = 'deleting', VALUES(storageKey), storageKey),
      updatedAt = NOW(3),
      state = IF(state = 'missing', 'missing', 'ready')`;
  let blob = await tx.blob.findUniqueOrThrow({ where: { sha256: input.sha256 } });
  if (Number(blob.size) !== input.size) {
    // Same SHA-256, different length: not a collision anyone has found; refuse rather than alias
    // (the transaction rolls back, reference included).
    throw new DomainError("INTERNAL_SERVER_ERROR", "Stored content disagrees with its digest");
  }
  // Every upload writes its own key, so the row holds our key exactly when our bytes are the blob's.
  let created = blob.storageKey === input.storageKey && blob.driver === input.driver;
  if (!created && (blob.state === "missing" || !(await objectIntact(blob)))) {
    const old = { driver: blob.driver, storageKey: blob.storageKey };
    await tx.$executeRaw`
      UPDATE \`Blob\` SET driver = ${input.driver}, storageKey = ${input.storageKey}, state = 'ready', updatedAt = NOW(3) WHERE id = ${blob.id}`;
    blob = { ...blob, driver: input.driver, storageKey: input.storageKey, state: "ready" };
    // Whatever is left at the old location (an object of the wrong size, or one we could not reach)
    // is nobody's now; a download that resolved the old location just before keeps the grace period.
    await scheduleObjectDiscard(tx, { driver: old.driver, key: old.storageKey, reason: "blob-repaired" }, { delayMs: env.TRANSFER_GRACE_SECONDS * 1000 });
    log.warn(`blob ${blob.id} (${input.sha256}) repaired: its content now comes from ${input.driver}:${input.storageKey}`);
    created = true;
  }
  if (created && wantsTransfer(input.driver, input.size)) {
    await enqueueJob(tx, "blob.transfer.v1", { blobId: blob.id, storageKey: input.storageKey }, { subject: blob.id });
  }
  return { blob, created };
}

/** A ready blob with this content, for 秒传 (never trusted without a proof of possession). */
export async function findReadyBlob(sha256: string, size: number): Promise<Blob | null> {
  return db.$primary().blob.findFirst({ where: { sha256, size: BigInt(size), state: "ready" } });
}

/**
 * A ready blob with this content whose object is really there (a HEAD), for offering 秒传: content
 * whose bytes were lost is uploaded again instead (and repairs the blob when it commits).
 */
export async function findServableBlob(sha256: string, size: number): Promise<Blob | null> {
  const blob = await findReadyBlob(sha256, size);
  if (!blob) return null;
  try {
    const head = await blobStorage(blob.driver).head(blob.storageKey);
    if (head && head.size === size) return blob;
  } catch {
    // Storage unreachable: no 秒传 now; a normal upload still works.
    return null;
  }
  // Maybe moved to another tier between the read and the HEAD: ask once more.
  const again = await findReadyBlob(sha256, size);
  if (again && (again.driver !== blob.driver || again.storageKey !== blob.storageKey)) {
    const head = await blobStorage(again.driver).head(again.storageKey).catch(() => null);
    if (head && head.size === size) return again;
  }
  return null;
}

/** Where the blob with this content is now (the primary's view), or null. */
export async function currentLocation(sha256: string): Promise<{ driver: string; storageKey: string } | null> {
  return db.$primary().blob.findUnique({ where: { sha256 }, select: { driver: true, storageKey: true } });
}

/** Whether some blob's row points at this object (such an object is never discarded). */
export async function blobOwnsObject(driver: string, storageKey: string): Promise<boolean> {
  const rows = await db.$primary().$queryRaw<Array<{ one: number }>>`
    SELECT 1 AS one FROM \`Blob\` WHERE driver = ${driver} AND storageKey = ${storageKey} LIMIT 1`;
  return rows.length > 0;
}

/** Marks a blob whose object is gone as `missing`, if it is still at that location and ready. */
export async function markBlobMissing(blobId: string, driver: string, storageKey: string): Promise<boolean> {
  const n = await db.$executeRaw`
    UPDATE \`Blob\` SET state = 'missing', updatedAt = NOW(3)
    WHERE id = ${blobId} AND driver = ${driver} AND storageKey = ${storageKey} AND state = 'ready'`;
  return n === 1;
}
