import { env } from "~/env";
import { DomainError } from "~/server/errors";
import type { DeliveryHook, DownloadTarget } from "~/server/services/downloads/targets";
import { blobStorage, currentLocation } from "~/server/services/blobs";
import { StorageError, toDomainError } from "~/server/storage";
import { logger } from "~/server/log";
import { acquireDownloadSlot, takeTokens } from "~/server/services/rate-limit";
import { presentationFor, safeContentHeaders } from "~/server/services/downloads/inline";
import { ifRangeAllowsRange, noneMatchHits, notModifiedSince } from "./conditional";
import { contentDisposition } from "./content-disposition";
import { contentRange, selectRange, unsatisfiedContentRange } from "./range";
import type { RawResponse } from "./raw";

// One file's bytes over HTTP, for every download route (own files, signed URLs, share links):
// validators and 304, single ranges (206/416), Content-Disposition with the real name, and either a
// stream from the storage backend (piped with backpressure by the raw layer) or, for object stores
// in DOWNLOAD_MODE=redirect, a 302 to a short-lived presigned URL.
//
// Multi-range requests are served as one 206 when their ranges coalesce into one span, else as a
// 200 with everything (see range.ts); we never send multipart/byteranges.
//
// DOWNLOAD_MODE=accel (local-disk blobs behind nginx, deploy/nginx/filestore.conf.template): after
// every check above has passed and the headers are set, the answer carries
// `X-Accel-Redirect: <DOWNLOAD_ACCEL_PREFIX>objects/<key>` and no body; nginx sends the file itself
// (sendfile) and applies the Range with the drive's own validators. Only when the request came
// through that nginx (it sets X-Filestore-Accel: 1) and asks for the whole file or one plain range;
// anything else is streamed by the drive as in proxy mode.
//
// Limits (services/rate-limit.ts): each GET that will send bytes takes a token from the
// downloader's bucket, and a download the drive streams itself holds one of the downloader's
// DOWNLOADS_MAX_PARALLEL slots until its response ends.

/** Seconds a presigned redirect target stays valid (only the start of the transfer needs it). */
const REDIRECT_TTL_SECONDS = 300;

const log = logger("downloads");

const storageFailure = (e: unknown) => (e instanceof StorageError ? toDomainError(e) : e);

export interface DownloadRequest {
  method: string;
  headers: Headers;
}

export interface RespondOptions {
  /** DOWNLOAD_MODE unless given (tests exercise both modes in one process). */
  mode?: "proxy" | "redirect" | "accel";
  /** The viewer asks to see the file (`?inline=1`); granted only for safe types (see inline.ts). */
  inline?: boolean;
  /** The request came through the nginx that serves X-Accel-Redirect answers. */
  accelAvailable?: boolean;
  /** Whose download limits apply: "user:<id>" or "addr:<client address>"; none when absent. */
  downloader?: string;
}

/** Exactly one `bytes=a-b`, `a-` or `-n` range (what nginx, with max_ranges 1, treats as we do). */
function isPlainRange(header: string | null): boolean {
  return header === null || /^bytes=(\d+-\d*|-\d+)$/.test(header.trim());
}

/** The X-Accel-Redirect target of a local-disk object (each path segment percent-encoded). */
function accelTarget(relativePath: string): string {
  return env.DOWNLOAD_ACCEL_PREFIX + relativePath.split("/").map(encodeURIComponent).join("/");
}

export async function respondWithFile(
  req: DownloadRequest,
  target: DownloadTarget,
  onDelivery?: DeliveryHook,
  options: RespondOptions = {},
): Promise<RawResponse> {
  const etag = `"${target.sha256}"`;
  const lastModified = target.createdAt;
  const validators: Record<string, string> = {
    etag,
    "last-modified": lastModified.toUTCString(),
    "cache-control": "private, no-cache",
  };
  const presentation = presentationFor(target.mime, options.inline ?? false);
  const headers: Record<string, string> = {
    ...validators,
    "accept-ranges": "bytes",
    "content-type": presentation.contentType,
    "content-disposition": contentDisposition(target.name, presentation.disposition),
    ...safeContentHeaders(presentation),
  };

  const ifNoneMatch = req.headers.get("if-none-match");
  const notModified =
    ifNoneMatch !== null ? noneMatchHits(ifNoneMatch, etag) : notModifiedSince(req.headers.get("if-modified-since"), lastModified);
  if (notModified) {
    const extra = (await onDelivery?.({ counted: false })) ?? {};
    return { status: 304, headers: { ...validators, ...extra } };
  }

  const rangeHeader = ifRangeAllowsRange(req.headers.get("if-range"), etag, lastModified) ? req.headers.get("range") : null;
  const selection = selectRange(rangeHeader, target.size);
  if (selection.type === "unsatisfiable") {
    const extra = (await onDelivery?.({ counted: false })) ?? {};
    throw new DomainError("RANGE_NOT_SATISFIABLE", `Range not satisfiable for ${target.size} bytes`, {
      details: { size: target.size, headers: { "content-range": unsatisfiedContentRange(target.size), ...extra } },
    });
  }

  const sendsBytes = req.method === "GET" && target.size > 0;
  if (sendsBytes && options.downloader) await takeTokens("downloads", options.downloader);

  const counted = req.method === "GET" && (selection.type === "full" || selection.start === 0);
  Object.assign(headers, (await onDelivery?.({ counted })) ?? {});

  const storage = blobStorage(target.driver);
  const mode = options.mode ?? env.DOWNLOAD_MODE;
  if (mode === "accel" && options.accelAvailable && sendsBytes && storage.relativeFilePath && isPlainRange(rangeHeader)) {
    // nginx computes Content-Length / Content-Range from the file; the drive's headers stay (the
    // nginx config re-adds the validators and the safe-content headers from this answer).
    return { status: 200, headers: { ...headers, "x-accel-redirect": accelTarget(storage.relativeFilePath(target.storageKey)) }, body: null };
  }
  // Inline views are always proxied: the object store's response would lack the headers above.
  if (mode === "redirect" && presentation.disposition === "attachment" && storage.capabilities.presign) {
    const url = await storage
      .presignGet(target.storageKey, {
        expiresInSeconds: REDIRECT_TTL_SECONDS,
        downloadName: target.name,
        contentType: target.mime || "application/octet-stream",
      })
      .catch((e: unknown) => {
        throw storageFailure(e);
      });
    if (url) {
      const { "set-cookie": cookie } = headers;
      return { status: 302, headers: { location: url, "cache-control": "no-store", ...(cookie ? { "set-cookie": cookie } : {}) } };
    }
  }

  let status = 200;
  if (selection.type === "partial") {
    status = 206;
    headers["content-range"] = contentRange(selection.start, selection.end, target.size);
    headers["content-length"] = String(selection.end - selection.start + 1);
  } else {
    headers["content-length"] = String(target.size);
  }
  if (req.method === "HEAD" || target.size === 0) return { status, headers, body: null };

  const range = selection.type === "partial" ? { start: selection.start, end: selection.end } : undefined;
  const release = options.downloader ? await acquireDownloadSlot(options.downloader) : () => {};
  let body;
  try {
    body = await storage.get(target.storageKey, range);
    if (!body) {
      // The blob may have moved to another tier since its row was read (a transfer switched it and
      // the grace period ran out): read its location again and try there once.
      const moved = await currentLocation(target.sha256);
      if (moved && (moved.driver !== target.driver || moved.storageKey !== target.storageKey)) {
        body = await blobStorage(moved.driver).get(moved.storageKey, range);
      }
    }
  } catch (e) {
    release();
    throw storageFailure(e);
  }
  if (!body) {
    release();
    log.error({ entryId: target.entryId, driver: target.driver, key: target.storageKey }, "the content of a file is missing");
    throw new DomainError("INTERNAL_SERVER_ERROR", "The file's content is missing");
  }
  // The slot is given back however the response ends (finished, client gone, storage error).
  body.once("close", release);
  return { status, headers, body };
}

export type { DeliveryHook, DownloadTarget };
