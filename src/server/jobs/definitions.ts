import { z } from "zod";

// Queue messages are versioned: a kind names its payload schema, and a change of shape is a new
// version ("x.v2") handled beside the old one until the queue has drained. A message whose kind is
// unknown or whose payload does not parse can never succeed: it goes straight to the dead letters.

const driverName = z.enum(["local", "s3", "oss"]);
const storageKey = z.string().min(1).max(512);

export const jobSchemas = {
  /** Delete the bytes and rows of blobs nothing refers to any more (after a purge). */
  "blob.collect.v1": z.object({ reason: z.string().max(64) }),
  /**
   * Move a blob from the upload tier to TRANSFER_TARGET. `storageKey` is the blob's key when the
   * job was made: a blob whose key changed since (collected and revived by a new upload, repaired)
   * is another generation with a job of its own, so this one only cleans up after itself.
   */
  "blob.transfer.v1": z.object({ blobId: z.string().min(1).max(32), storageKey }),
  /**
   * Delete storage objects no blob owns: the staged bytes of an aborted or expired upload (its
   * multipart upload, object and tus tails under `prefix`), the superseded copy of a moved or
   * repaired blob (after the grace period). Nothing a blob points at is ever deleted.
   */
  "storage.discard.v1": z.object({
    driver: driverName,
    key: storageKey,
    multipartId: z.string().min(1).max(1024).optional(),
    /** Also delete every object whose key starts with this (tus tails: `<key>.tail.`). */
    prefix: storageKey.optional(),
    reason: z.string().max(64),
  }),
  /** Make the listing thumbnail of an image's content (services/previews/thumbnails.ts). */
  "thumbnail.create.v1": z.object({ sha256: z.string().regex(/^[0-9a-f]{64}$/) }),
} as const;

export type JobKind = keyof typeof jobSchemas;
export type JobPayload<K extends JobKind> = z.infer<(typeof jobSchemas)[K]>;

/** The envelope on the wire; `id` is the outbox row id, the consumer's idempotency key. */
export const envelopeSchema = z.object({
  id: z.string().regex(/^\d{1,19}$/),
  kind: z.string().max(64),
  payload: z.unknown(),
});
export type Envelope = z.infer<typeof envelopeSchema>;

export function isJobKind(kind: string): kind is JobKind {
  return Object.hasOwn(jobSchemas, kind);
}
