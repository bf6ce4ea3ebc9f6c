import { resolveActor } from "~/server/auth/actor";
import { DomainError } from "~/server/errors";
import {
  createTusUpload,
  maxUploadBytesFor,
  patchTusUpload,
  terminateTusUpload,
  tusUploadStatus,
} from "~/server/services/uploads/tus/uploads";
import {
  assertTusResumable,
  byteCount,
  isOffsetStream,
  parseUploadChecksum,
  parseUploadMetadata,
  requiredByteCount,
  TUS_CHECKSUM_ALGORITHMS,
  TUS_EXTENSIONS,
  TUS_VERSION,
} from "../tus-headers";
import { errorResponse, requireActor, type RawHandler, type RawRequest, type RawResponse } from "../raw";
import type { RawRoute } from "../router";

// tus 1.0.0 at /api/tus (API.md): core protocol plus creation, creation-with-upload, termination,
// checksum and expiration. Upload-Defer-Length (creation-defer-length) is not offered: 400.
// Served from node:http by the custom server and from the Next route files under src/app/api/tus.

function noContent(status: number, headers: Record<string, string>): RawResponse {
  return { status, headers, body: null };
}

function expiresHeader(expiresAt: Date | null): Record<string, string> {
  return expiresAt ? { "upload-expires": expiresAt.toUTCString() } : {};
}

/** Tus-Resumable on every answer, errors included (JSON `{ error: { code, message } }` as on every raw route). */
function tus(handler: RawHandler): RawHandler {
  return async (req, params) => {
    let out: RawResponse;
    try {
      out = await handler(req, params);
    } catch (e) {
      out = errorResponse(e);
    }
    return { ...out, headers: { ...out.headers, "tus-resumable": TUS_VERSION } };
  };
}

/** Whether the request carries a body (creation-with-upload). */
function hasBody(req: RawRequest): boolean {
  const length = req.headers.get("content-length");
  return (length !== null && length.trim() !== "0") || req.headers.has("transfer-encoding");
}

function patchInput(req: RawRequest, offset: number) {
  return {
    offset,
    contentLength: byteCount(req.headers, "content-length"),
    checksum: parseUploadChecksum(req.headers.get("upload-checksum")),
    body: req.body,
    signal: req.signal,
  };
}

const options: RawHandler = async (req) => {
  const actor = await resolveActor(req.headers).catch(() => null);
  return noContent(204, {
    "tus-version": TUS_VERSION,
    "tus-extension": TUS_EXTENSIONS,
    "tus-checksum-algorithm": TUS_CHECKSUM_ALGORITHMS,
    "tus-max-size": String(await maxUploadBytesFor(actor)),
  });
};

const create: RawHandler = async (req) => {
  assertTusResumable(req.headers);
  const actor = await requireActor(req);
  if (req.headers.has("upload-defer-length")) {
    throw new DomainError("BAD_REQUEST", "Upload-Defer-Length is not supported: send Upload-Length");
  }
  const length = requiredByteCount(req.headers, "upload-length");
  const rawMetadata = req.headers.get("upload-metadata");
  const metadata = parseUploadMetadata(rawMetadata);
  const withBody = hasBody(req);
  if (withBody && !isOffsetStream(req.headers)) {
    throw new DomainError("UNSUPPORTED_MEDIA_TYPE", "A creation-with-upload body is application/offset+octet-stream");
  }
  const patch = withBody ? patchInput(req, 0) : null;
  if (patch?.contentLength != null && patch.contentLength > length) throw new DomainError("BAD_REQUEST", "The body goes past Upload-Length");

  const created = await createTusUpload(actor, { length, metadata, rawMetadata });
  const location = { location: `/api/tus/${created.uploadId}` };
  if (!patch || created.length === 0) {
    return noContent(201, { ...location, "upload-offset": String(created.offset), ...expiresHeader(created.expiresAt) });
  }
  try {
    const state = await patchTusUpload(actor, created.uploadId, patch);
    return noContent(201, { ...location, "upload-offset": String(state.offset), ...expiresHeader(state.expiresAt) });
  } catch (e) {
    // The upload exists either way: the client may resume it (HEAD tells from where).
    const out = errorResponse(e);
    return { ...out, headers: { ...out.headers, ...location } };
  }
};

const head: RawHandler = async (req, params) => {
  assertTusResumable(req.headers);
  const actor = await requireActor(req);
  const state = await tusUploadStatus(actor, params.id ?? "");
  return noContent(200, {
    "upload-offset": String(state.offset),
    "upload-length": String(state.length),
    "cache-control": "no-store",
    ...expiresHeader(state.expiresAt),
    ...(state.metadata ? { "upload-metadata": state.metadata } : {}),
  });
};

const patch: RawHandler = async (req, params) => {
  assertTusResumable(req.headers);
  const actor = await requireActor(req);
  if (!isOffsetStream(req.headers)) throw new DomainError("UNSUPPORTED_MEDIA_TYPE", "PATCH bodies are application/offset+octet-stream");
  const offset = requiredByteCount(req.headers, "upload-offset");
  const state = await patchTusUpload(actor, params.id ?? "", patchInput(req, offset));
  return noContent(204, { "upload-offset": String(state.offset), ...expiresHeader(state.expiresAt) });
};

const terminate: RawHandler = async (req, params) => {
  assertTusResumable(req.headers);
  const actor = await requireActor(req);
  await terminateTusUpload(actor, params.id ?? "");
  return noContent(204, {});
};

/** POST with X-HTTP-Method-Override, for clients behind proxies that only pass GET and POST. */
const override: RawHandler = async (req, params) => {
  const method = (req.headers.get("x-http-method-override") ?? "").toUpperCase();
  const target = { PATCH: patch, HEAD: head, DELETE: terminate }[method];
  if (!target) throw new DomainError("METHOD_NOT_SUPPORTED", "Use PATCH, HEAD or DELETE on an upload");
  return target({ ...req, method }, params);
};

export const routes: RawRoute[] = [
  { methods: ["OPTIONS"], path: "/api/tus", handler: tus(options) },
  { methods: ["POST"], path: "/api/tus", handler: tus(create) },
  { methods: ["OPTIONS"], path: "/api/tus/:id", handler: tus(options) },
  { methods: ["HEAD"], path: "/api/tus/:id", handler: tus(head) },
  { methods: ["PATCH"], path: "/api/tus/:id", handler: tus(patch) },
  { methods: ["DELETE"], path: "/api/tus/:id", handler: tus(terminate) },
  { methods: ["POST"], path: "/api/tus/:id", handler: tus(override) },
];
