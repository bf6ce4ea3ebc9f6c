import { z } from "zod";

// Queue messages are versioned: a kind names its payload schema, and a change of shape is a new
// version ("x.v2") handled beside the old one until the queue has drained.

export const jobSchemas = {
  /** Delete the bytes and rows of blobs nothing refers to any more (after purge, abort, expiry). */
  "blob.collect.v1": z.object({ reason: z.string().max(64) }),
  /** Make the listing thumbnail of an image's content (services/previews/thumbnails.ts). */
  "thumbnail.create.v1": z.object({ sha256: z.string().regex(/^[0-9a-f]{64}$/) }),
} as const;

export type JobKind = keyof typeof jobSchemas;
export type JobPayload<K extends JobKind> = z.infer<(typeof jobSchemas)[K]>;

/** The envelope on the wire; `id` is the outbox row id, the consumer's idempotency key. */
export const envelopeSchema = z.object({
  id: z.string().regex(/^\d+$/),
  kind: z.string(),
  payload: z.unknown(),
});
export type Envelope = z.infer<typeof envelopeSchema>;

export function isJobKind(kind: string): kind is JobKind {
  return Object.hasOwn(jobSchemas, kind);
}
