import type { JobKind, JobPayload } from "~/server/jobs/definitions";
import { collectBlobs } from "~/server/services/blobs";

type Handlers = { [K in JobKind]: (payload: JobPayload<K>) => Promise<void> };

/** One handler per job kind; each is idempotent (a redelivered message must be harmless). */
export const handlers: Handlers = {
  "blob.collect.v1": async () => {
    await collectBlobs();
  },
};
