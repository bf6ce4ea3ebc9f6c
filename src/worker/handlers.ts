import type { Prisma } from "~/server/db/generated/client";
import type { Tx } from "~/server/db/client";
import type { JobKind, JobPayload } from "~/server/jobs/definitions";
import { collectBlobs } from "~/server/services/blobs";
import { discardObjects } from "~/server/services/transfers/discard";
import { transferBlob } from "~/server/services/transfers/transfer-blob";
import { createThumbnail } from "~/server/services/previews/thumbnails";

/** What a handler gets besides its payload (src/worker/consumer.ts keeps the lease while it runs). */
export interface JobContext {
  jobId: bigint;
  /** 1 for the first run. */
  attempt: number;
  /** Aborted when the lease is lost or the worker shuts down: stop, and leave things as a crash would. */
  signal: AbortSignal;
  /** What the previous attempt saved with saveCheckpoint (null when none): clean up after it. */
  checkpoint: unknown;
  saveCheckpoint(data: unknown): Promise<void>;
  /**
   * Marks the job done inside the handler's own transaction, so its change and "done" commit
   * together (throws, rolling the transaction back, when the lease was lost). Handlers that do not
   * call it are marked done right after they return.
   */
  finish(tx: Tx | Prisma.TransactionClient): Promise<void>;
}

type Handlers = { [K in JobKind]: (payload: JobPayload<K>, ctx: JobContext) => Promise<void> };

/**
 * One handler per job kind (add a kind in ~/server/jobs/definitions.ts and its handler here). Each is
 * idempotent: a job may run again after a crash, so a second run of a finished job must be harmless.
 */
export const handlers: Handlers = {
  "blob.collect.v1": async () => {
    await collectBlobs();
  },
  "blob.transfer.v1": (payload, ctx) => transferBlob(payload, ctx),
  "storage.discard.v1": (payload) => discardObjects(payload),
  "thumbnail.create.v1": async ({ sha256 }) => {
    await createThumbnail(sha256);
  },
};
