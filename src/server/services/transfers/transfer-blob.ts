import { z } from "zod";
import { db, type Tx } from "~/server/db/client";
import type { Prisma } from "~/server/db/generated/client";
import type { JobPayload } from "~/server/jobs/definitions";
import { PermanentJobError } from "~/server/jobs/errors";
import { enqueueJob } from "~/server/jobs/outbox";
import { blobStorage, markBlobMissing } from "~/server/services/blobs";
import { transferSettings } from "./config";
import { copyVerified, SourceMismatchError, SourceMissingError } from "./copy";
import { discardObject } from "./discard";
import { logger } from "~/server/log";

const log = logger("transfer");

// blob.transfer.v1: moves one blob from the upload tier to TRANSFER_TARGET.
//
//   1. clean up after an earlier attempt that died mid-way (its multipart upload, from the checkpoint);
//   2. skip what is not to do: the blob is gone, purged, revived as another generation (another
//      storageKey, with its own job) or already on the target (a redelivery after the switch) —
//      deleting a target copy this job may have written before, so nothing is orphaned;
//   3. copy and verify (./copy.ts) to the SAME key on the target: every upload has its own key, so two
//      generations of a blob never share an object, and a retry simply writes the key again;
//   4. in one transaction, with the blob's row locked: check it is still this generation and still
//      referenced, switch its driver to the target, schedule the source copy's deletion after the
//      grace period (downloads already streaming from it finish), and mark the job done (lease-fenced);
//      the worker acks after that commit. A blob purged or revived meanwhile is not switched and the
//      target copy is deleted instead.
//
// Readers (downloads, 秒传 proofs) read the row's location at each request: before the switch it is
// the source (complete), after it the target (complete and verified), and the source stays for the
// grace period. share.save and copies only add references.

export interface TransferContext {
  signal: AbortSignal;
  checkpoint: unknown;
  saveCheckpoint(data: unknown): Promise<void>;
  finish(tx: Tx | Prisma.TransactionClient): Promise<void>;
}

const checkpointSchema = z.object({ driver: z.enum(["local", "s3", "oss"]), key: z.string(), uploadId: z.string() });

interface BlobRow {
  id: string;
  driver: string;
  storageKey: string;
  state: string;
  refCount: number;
  size: bigint;
  sha256: string;
}

function isCurrent(row: BlobRow | null | undefined, storageKey: string): row is BlobRow {
  return !!row && row.storageKey === storageKey && row.state === "ready" && Number(row.refCount) > 0;
}

export async function transferBlob(job: JobPayload<"blob.transfer.v1">, ctx: TransferContext): Promise<void> {
  const settings = transferSettings();
  const previous = checkpointSchema.safeParse(ctx.checkpoint);
  if (previous.success) {
    const { driver, key, uploadId } = previous.data;
    await blobStorage(driver).multipart.abort(key, uploadId);
    await ctx.saveCheckpoint(null);
  }
  if (!settings) {
    log.warn(`blob ${job.blobId}: TRANSFER_TARGET is not set any more; leaving it where it is`);
    return;
  }
  const { target } = settings;
  const key = job.storageKey;
  const blob = await db.$primary().blob.findUnique({ where: { id: job.blobId } });
  if (!isCurrent(blob, key)) {
    // Purged, collected, revived with other bytes or repaired: not this job's generation any more.
    await discardObject(target, key);
    return;
  }
  if (blob.driver === target) return; // moved already; this is a redelivery

  const source = blobStorage(blob.driver);
  const started = Date.now();
  try {
    await copyVerified(source, blobStorage(target), key, {
      size: Number(blob.size),
      sha256: blob.sha256,
      partBytes: settings.partBytes,
      concurrency: settings.partConcurrency,
      signal: ctx.signal,
      onMultipartCreated: (uploadId) => ctx.saveCheckpoint({ driver: target, key, uploadId }),
    });
  } catch (e) {
    if (e instanceof SourceMissingError || e instanceof SourceMismatchError) {
      // The upload tier lost or damaged the bytes (issue 17): say so on the blob, so the next upload of
      // this content repairs it and 秒传 stops offering it, and stop retrying a copy that cannot work.
      await markBlobMissing(blob.id, blob.driver, key);
      throw new PermanentJobError(`blob ${blob.id}: ${e.message}; marked missing (npm run blobs -- scan lists it)`, { cause: e });
    }
    throw e;
  }
  await ctx.saveCheckpoint(null);

  const switched = await db.$transaction(async (tx) => {
    const rows = await tx.$queryRaw<BlobRow[]>`
      SELECT id, driver, storageKey, state, refCount, size, sha256 FROM \`Blob\` WHERE id = ${blob.id} FOR UPDATE`;
    const now = rows[0];
    if (!isCurrent(now, key) || now.driver !== blob.driver) return false;
    await tx.$executeRaw`UPDATE \`Blob\` SET driver = ${target}, updatedAt = NOW(3) WHERE id = ${blob.id}`;
    await enqueueJob(tx, "storage.discard.v1", { driver: now.driver as "local" | "s3" | "oss", key, reason: "tier-move" }, { delayMs: settings.graceMs });
    await ctx.finish(tx);
    return true;
  });
  if (!switched) {
    await discardObject(target, key);
    return;
  }
  const seconds = (Date.now() - started) / 1000;
  const mb = Number(blob.size) / 1e6;
  log.info(`blob ${blob.id} moved ${blob.driver} → ${target} (${mb.toFixed(1)} MB in ${seconds.toFixed(1)} s, ${(mb / Math.max(seconds, 0.001)).toFixed(1)} MB/s)`);
}
