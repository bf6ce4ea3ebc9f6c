import { db } from "~/server/db/client";
import { blobStorage } from "../blobs";
import { logger } from "~/server/log";

const log = logger("blobs");

// Collection of blobs nothing refers to (blob.collect.v1 jobs after a purge, and the worker's
// periodic run). The three steps and why: see ../blobs.ts.

/** Blobs marked deleting longer ago than this are retried (a collector died between the steps). */
const STUCK_DELETING_MS = 10 * 60_000;

async function markForDeletion(blobId: string): Promise<{ driver: string; storageKey: string } | null> {
  return db.$transaction(async (tx) => {
    const rows = await tx.$queryRaw<Array<{ driver: string; storageKey: string; refCount: number; state: string }>>`
      SELECT driver, storageKey, refCount, state FROM \`Blob\` WHERE id = ${blobId} FOR UPDATE`;
    const row = rows[0];
    if (!row || Number(row.refCount) !== 0) return null;
    if (row.state === "deleting") return { driver: row.driver, storageKey: row.storageKey };
    if (row.state !== "ready" && row.state !== "missing") return null;
    // A reference count that lost track must never cost data: trust the entries over the counter.
    const referenced = await tx.$queryRaw<Array<{ n: bigint }>>`SELECT COUNT(*) AS n FROM Entry WHERE blobId = ${blobId}`;
    const actual = Number(referenced[0]?.n ?? 0);
    if (actual > 0) {
      log.error(`blob ${blobId} has refCount 0 but ${actual} entries; repairing the count`);
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
      WHERE refCount = 0 AND (state IN ('ready', 'missing') OR (state = 'deleting' AND updatedAt < ${stuckBefore}))
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
        log.error(`deleting bytes of blob ${id} failed: ${e instanceof Error ? e.message : e}`);
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
