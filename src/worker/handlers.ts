import type { JobKind, JobPayload } from "~/server/jobs/definitions";
import { collectBlobs } from "~/server/services/blobs";
import { createThumbnail } from "~/server/services/previews/thumbnails";

type Handlers = { [K in JobKind]: (payload: JobPayload<K>) => Promise<void> };

/** One handler per job kind; each is idempotent (a redelivered message must be harmless). */
export const handlers: Handlers = {
  "blob.collect.v1": async () => {
    await collectBlobs();
  },
  "thumbnail.create.v1": async ({ sha256 }) => {
    await createThumbnail(sha256);
  },
};
