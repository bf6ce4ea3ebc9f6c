import type { IncomingMessage, ServerResponse } from "node:http";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { resolveActor, type Actor } from "~/server/auth/actor";
import { actorFromUploadGrant, UPLOAD_TOKEN_HEADER } from "~/server/auth/upload-grant";
import { DomainError, errorTable } from "~/server/errors";
import { logger } from "~/server/log";
import { clientAddress, stampRemoteAddress } from "./client-address";

// The raw-route wrapper. Byte-heavy routes (uploads, chunks, tus, downloads) are written once
// against RawRequest/RawResponse and served two ways: straight from node:http by the custom server
// (src/server/main.ts, no web-stream bridge: the fast path), and from Next route handlers under
// src/app/api (for `next dev`) through toRouteHandler below. The routes, statuses and headers
// they implement are docs/API.md.

const log = logger("http");

export interface RawRequest {
  method: string;
  url: URL;
  headers: Headers;
  /** The request body as a Node stream; never buffered. */
  body: Readable;
  remoteAddress: string;
  /** Fires when the client goes away before the response is finished. */
  signal: AbortSignal;
}

export interface RawResponse {
  status: number;
  headers?: Record<string, string>;
  body?: Readable | string | Buffer | null;
  /** The error code of an error answer (for metrics and logs; not sent as a header). */
  errorCode?: string;
}

export type RawHandler = (req: RawRequest, params: Record<string, string>) => Promise<RawResponse>;

export function json(status: number, value: unknown, headers: Record<string, string> = {}): RawResponse {
  return {
    status,
    headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", ...headers },
    body: JSON.stringify(value),
  };
}

/** `{ error: { code, message } }` with the status from the ONE error table. */
export function errorResponse(e: unknown): RawResponse {
  if (e instanceof DomainError) {
    const headers: Record<string, string> = {};
    const retryAfter = e.details?.retryAfter;
    if (typeof retryAfter === "number") headers["retry-after"] = String(Math.ceil(retryAfter));
    const extra = e.details?.headers;
    if (extra && typeof extra === "object") Object.assign(headers, extra);
    const { headers: _h, ...details } = e.details ?? {};
    return {
      ...json(e.status, { error: { code: e.code, message: e.message, ...(Object.keys(details).length ? { details } : {}) } }, headers),
      errorCode: e.code,
    };
  }
  log.error({ err: e }, "unhandled error");
  return {
    ...json(errorTable.INTERNAL_SERVER_ERROR.status, {
      error: { code: "INTERNAL_SERVER_ERROR", message: "Internal server error" },
    }),
    errorCode: "INTERNAL_SERVER_ERROR",
  };
}

/** Runs a handler, turning thrown errors into JSON error responses. */
export async function runRaw(handler: RawHandler, req: RawRequest, params: Record<string, string>): Promise<RawResponse> {
  try {
    return await handler(req, params);
  } catch (e) {
    return errorResponse(e);
  }
}

/** The actor of a raw request, or UNAUTHORIZED. */
export async function requireActor(req: RawRequest): Promise<Actor> {
  const actor = await resolveActor(req.headers);
  if (!actor) throw new DomainError("UNAUTHORIZED", "Sign in first");
  return actor;
}

/** The actor of a request about one upload: its credentials, else that upload's grant (X-Upload-Token). */
export async function requireUploadActor(req: RawRequest, uploadId: string): Promise<Actor> {
  const actor = (await resolveActor(req.headers)) ?? (await actorFromUploadGrant(req.headers.get(UPLOAD_TOKEN_HEADER), uploadId));
  if (!actor) throw new DomainError("UNAUTHORIZED", "Sign in first");
  return actor;
}

// --- node:http adapter (custom server) ----------------------------------------------------------

export function headersFromNode(req: IncomingMessage): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    else headers.set(name, value);
  }
  return headers;
}

/** Serves one request; resolves (with the status and error code, for metrics) once the response ended. */
export async function serveNode(
  handler: RawHandler,
  params: Record<string, string>,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<{ status: number; errorCode?: string }> {
  const controller = new AbortController();
  const onClose = () => {
    if (!res.writableFinished) controller.abort();
  };
  res.on("close", onClose);
  const remoteAddress = req.socket.remoteAddress ?? "unknown";
  stampRemoteAddress(req.headers, remoteAddress);
  const headers = headersFromNode(req);
  const rawReq: RawRequest = {
    method: req.method ?? "GET",
    url: new URL(req.url ?? "/", "http://localhost"),
    headers,
    body: req,
    remoteAddress,
    signal: controller.signal,
  };
  const out = await runRaw(handler, rawReq, params);
  // A handler that answered before reading the whole body (an early error) must not leave the
  // client blocked on a request body nobody reads: close the connection after the reply.
  if (!req.complete && !req.readableEnded) res.setHeader("connection", "close");
  res.writeHead(out.status, out.headers);
  const summary = { status: out.status, errorCode: out.errorCode };
  if (out.body == null || rawReq.method === "HEAD") {
    if (out.body instanceof Readable) out.body.destroy();
    res.end();
    return summary;
  }
  if (typeof out.body === "string" || Buffer.isBuffer(out.body)) {
    res.end(out.body);
    return summary;
  }
  try {
    await pipeline(out.body, res);
  } catch {
    // client went away mid-download; pipeline already destroyed both streams
  }
  return summary;
}

// --- Next route handler adapter (next dev / next start without the custom server) ----------------

export function toRouteHandler(handler: RawHandler) {
  return async (request: Request, context: { params: Promise<Record<string, string | string[]>> }) => {
    const rawParams = await context.params;
    const params: Record<string, string> = {};
    for (const [k, v] of Object.entries(rawParams ?? {})) params[k] = Array.isArray(v) ? v.join("/") : v;
    const body = request.body
      ? Readable.fromWeb(request.body as import("node:stream/web").ReadableStream<Uint8Array>)
      : Readable.from([]);
    // Next does not expose the socket: the address is the custom server's stamp, or X-Forwarded-For
    // with TRUST_PROXY, or "unknown" (see client-address.ts).
    const headers = new Headers(request.headers);
    const rawReq: RawRequest = {
      method: request.method,
      url: new URL(request.url),
      headers,
      body,
      remoteAddress: clientAddress(headers),
      signal: request.signal,
    };
    const out = await runRaw(handler, rawReq, params);
    let responseBody: BodyInit | null = null;
    if (out.body != null && request.method !== "HEAD") {
      responseBody =
        out.body instanceof Readable
          ? (Readable.toWeb(out.body) as unknown as ReadableStream<Uint8Array>)
          : typeof out.body === "string"
            ? out.body
            : new Uint8Array(out.body);
    } else if (out.body instanceof Readable) {
      out.body.destroy();
    }
    return new Response(responseBody, { status: out.status, headers: out.headers });
  };
}
