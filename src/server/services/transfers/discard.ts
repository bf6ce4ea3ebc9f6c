import type { JobPayload } from "~/server/jobs/definitions";
import { blobOwnsObject, blobStorage } from "~/server/services/blobs";

// storage.discard.v1: objects nobody needs any more — the staged bytes of an upload that was aborted
// or expired, the source copy of a blob moved to another tier (after the grace period), a target
// copy written for a blob that was purged meanwhile. Every object is checked against the Blob table
// first: what a blob points at is never deleted, whatever the job says. Idempotent.

export async function discardObject(driver: string, key: string): Promise<boolean> {
  if (await blobOwnsObject(driver, key)) return false;
  await blobStorage(driver).delete(key);
  return true;
}

export async function discardObjects(job: JobPayload<"storage.discard.v1">): Promise<void> {
  const storage = blobStorage(job.driver);
  if (job.multipartId) await storage.multipart.abort(job.key, job.multipartId);
  if (job.prefix) {
    const keys: string[] = [];
    for await (const o of storage.list(job.prefix)) keys.push(o.key);
    for (const key of keys) await discardObject(job.driver, key);
  }
  await discardObject(job.driver, job.key);
}
