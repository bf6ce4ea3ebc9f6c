import { Readable } from "node:stream";
import type { OutputInfo } from "sharp";
import { db } from "~/server/db/client";
import { DomainError } from "~/server/errors";
import { enqueueJob } from "~/server/jobs/outbox";
import { blobStorage } from "~/server/services/blobs";
import { notFound } from "~/server/services/files/tree";
import { getStorage } from "~/server/storage";
import { joinKey } from "~/server/storage/keys";
import { logger } from "~/server/log";

const log = logger("thumbnails");

// Image thumbnails for the listing. One per content (the blob's SHA-256), so copies, 秒传 and other
// users' identical files share it. They are made lazily: the first request for an image's thumbnail
// records a `pending` row and, in the same transaction, a thumbnail.create.v1 job in the outbox;
// the worker makes it with sharp (libvips) and stores it as an object of its own. Until then the
// request answers "pending" and the listing shows the file's icon: nothing waits for thumbnails,
// and with the broker or the worker away the drive only lacks pictures.
//
// Why lazily and not where an upload commits: every way a file enters the drive (chunked, form, tus,
// 秒传, copy, share.save) would need the hook, inside upload code being reworked elsewhere, and most
// uploads are never looked at in a listing. A request is the one moment a thumbnail is wanted; the
// INSERT IGNORE on the content's key makes it exactly one job however many rows ask at once.

/** The longer side of a thumbnail, in pixels (the listing shows them at 32-40 px, the grid at 128). */
export const THUMBNAIL_SIZE = 256;
/** Images bigger than this are not thumbnailed (the icon stays). */
const MAX_SOURCE_BYTES = 200 * 1024 * 1024;
/** Decompression bombs: sharp refuses images with more pixels than this. */
const MAX_INPUT_PIXELS = 100_000_000;
/** A pending thumbnail whose job seems lost (broker purged, job dead-lettered) is asked for again after this. */
const PENDING_RETRY_MS = 10 * 60_000;

/** Types sharp's bundled libvips reads. SVG is rasterised (librsvg runs no script, loads nothing). */
const THUMBNAIL_TYPES = new Set(["image/png", "image/jpeg", "image/gif", "image/webp", "image/avif", "image/heic", "image/tiff", "image/svg+xml"]);

export function canThumbnail(mime: string | null): boolean {
  return mime !== null && THUMBNAIL_TYPES.has(mime.split(";", 1)[0]!.trim().toLowerCase());
}

export type ThumbnailAnswer =
  | { state: "ready"; sha256: string; bytes: number; open: () => Promise<Readable> }
  | { state: "pending" }
  | { state: "none" };

/** The thumbnail of one of the caller's files: ready, being made (asked for now if need be), or none. */
export async function thumbnailFor(ownerId: string, entryId: string, now = new Date()): Promise<ThumbnailAnswer> {
  const entry = await db.entry.findFirst({
    where: { id: entryId, ownerId, trashedAt: null },
    select: { kind: true, mime: true, blob: { select: { sha256: true, size: true, state: true } } },
  });
  if (!entry) throw notFound();
  const blob = entry.blob;
  if (entry.kind !== "file" || !blob || !canThumbnail(entry.mime) || Number(blob.size) > MAX_SOURCE_BYTES) return { state: "none" };

  const thumb = await db.$primary().thumbnail.findUnique({ where: { sha256: blob.sha256 } });
  if (thumb?.state === "ready" && thumb.driver && thumb.storageKey) {
    const { driver, storageKey } = thumb;
    return {
      state: "ready",
      sha256: blob.sha256,
      bytes: thumb.bytes ?? 0,
      open: async () => {
        const body = await blobStorage(driver).get(storageKey);
        if (!body) throw new DomainError("NOT_FOUND", "The thumbnail is gone");
        return body;
      },
    };
  }
  if (thumb?.state === "failed") return { state: "none" };
  if (!thumb) await requestThumbnail(blob.sha256, now);
  else if (now.getTime() - thumb.updatedAt.getTime() > PENDING_RETRY_MS) await requestThumbnail(blob.sha256, now, true);
  return { state: "pending" };
}

/** Records the pending row and its job together, once (or once more for a stale pending row). */
async function requestThumbnail(sha256: string, now: Date, again = false): Promise<void> {
  await db.$transaction(async (tx) => {
    const claimed = again
      ? await tx.$executeRaw`
          UPDATE Thumbnail SET updatedAt = ${now}
          WHERE sha256 = ${sha256} AND state = 'pending' AND updatedAt < ${new Date(now.getTime() - PENDING_RETRY_MS)}`
      : await tx.$executeRaw`
          INSERT IGNORE INTO Thumbnail (sha256, state, createdAt, updatedAt) VALUES (${sha256}, 'pending', ${now}, ${now})`;
    if (claimed === 1) await enqueueJob(tx, "thumbnail.create.v1", { sha256 });
  });
}

/**
 * The job: makes the thumbnail of the content `sha256` and stores it. Idempotent (a done one is
 * skipped). An image sharp cannot read is marked failed for good; a storage or database failure
 * throws, and the job is retried.
 */
export async function createThumbnail(sha256: string): Promise<"made" | "skipped" | "failed"> {
  const thumb = await db.$primary().thumbnail.findUnique({ where: { sha256 } });
  if (!thumb || thumb.state !== "pending") return "skipped";
  const blob = await db.$primary().blob.findFirst({ where: { sha256, state: "ready" } });
  if (!blob) {
    // The content left the drive before its thumbnail was made.
    await db.thumbnail.deleteMany({ where: { sha256, state: "pending" } });
    return "skipped";
  }
  const fail = async (reason: string) => {
    await db.thumbnail.updateMany({ where: { sha256, state: "pending" }, data: { state: "failed", error: reason.slice(0, 255) } });
    return "failed" as const;
  };
  if (Number(blob.size) > MAX_SOURCE_BYTES) return fail("image too large to thumbnail");

  const source = await blobStorage(blob.driver).get(blob.storageKey);
  if (!source) throw new Error(`content ${sha256} is missing from ${blob.driver}:${blob.storageKey}`);
  let sourceError: unknown = null;
  let result: { data: Buffer; info: OutputInfo };
  try {
    // Loaded on the first thumbnail, not at start: libvips adds ~19 MiB to every worker's resident set.
    const { default: sharp } = await import("sharp");
    const transformer = sharp({ limitInputPixels: MAX_INPUT_PIXELS, sequentialRead: true, animated: false })
      .timeout({ seconds: 60 })
      .rotate() // EXIF orientation, as the camera meant it
      .resize(THUMBNAIL_SIZE, THUMBNAIL_SIZE, { fit: "inside", withoutEnlargement: true })
      .webp({ quality: 72 });
    source.on("error", (e) => {
      sourceError = e;
      transformer.destroy(e);
    });
    source.pipe(transformer);
    result = await transformer.toBuffer({ resolveWithObject: true });
  } catch (e) {
    source.destroy();
    if (sourceError) throw sourceError;
    return fail(`not a readable image: ${e instanceof Error ? e.message : String(e)}`);
  }

  const storage = getStorage();
  const key = joinKey("thumbnails", sha256.slice(0, 2), `${sha256}.webp`);
  await storage.put(key, Readable.from([result.data]), { contentType: "image/webp", size: result.data.length });
  await db.thumbnail.updateMany({
    where: { sha256, state: "pending" },
    data: { state: "ready", driver: storage.name, storageKey: key, width: result.info.width, height: result.info.height, bytes: result.data.length, error: null },
  });
  return "made";
}

/** Deletes thumbnails (objects and rows) of content no blob holds any more. Returns how many. */
export async function sweepThumbnails(limit = 200): Promise<number> {
  const orphans = await db.$primary().$queryRaw<Array<{ sha256: string; driver: string | null; storageKey: string | null }>>`
    SELECT t.sha256, t.driver, t.storageKey FROM Thumbnail t
    LEFT JOIN \`Blob\` b ON b.sha256 = t.sha256
    WHERE b.id IS NULL AND t.state <> 'pending'
    LIMIT ${limit}`;
  let removed = 0;
  for (const orphan of orphans) {
    if (orphan.driver && orphan.storageKey) {
      try {
        await blobStorage(orphan.driver).delete(orphan.storageKey);
      } catch (e) {
        log.error(`deleting ${orphan.storageKey} failed: ${e instanceof Error ? e.message : e}`);
        continue;
      }
    }
    removed += await db.thumbnail.deleteMany({ where: { sha256: orphan.sha256, state: { not: "pending" } } }).then((r) => r.count);
  }
  return removed;
}
