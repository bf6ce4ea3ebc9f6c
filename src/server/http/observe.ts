import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { logger, requestIdFrom, withLogContext } from "~/server/log";
import { metrics } from "~/server/metrics";

// What the custom server (src/server/main.ts) does around every request: give it an id (echoed in
// X-Request-Id, carried into every log record written while serving it), count it (latency by route
// template, bytes in and out, uploads in flight, chunk errors by code) and write one access-log
// record when it ends. Paths are logged without their query: signed URLs carry credentials there.

const log = logger("http");

/** Route templates whose requests stream an upload body in. */
const UPLOAD_KINDS: Record<string, string> = {
  "PUT /api/uploads/:uploadId/chunks/:index": "chunk",
  "PATCH /api/tus/:id": "tus",
  "POST /api/tus": "tus",
  "POST /api/files": "form",
};

/** Probes and scrapes are logged at debug level: they would drown everything else. */
const QUIET_ROUTES = new Set(["/api/health", "/api/health/live", "/api/metrics"]);

/** The route label of a request Next serves (pages, tRPC, next-auth, assets). */
export function nextRouteLabel(pathname: string): string {
  if (pathname.startsWith("/api/trpc")) return "/api/trpc";
  if (pathname.startsWith("/api/auth")) return "/api/auth";
  if (pathname.startsWith("/_next/")) return "/_next";
  if (pathname.startsWith("/api/")) return "/api/other";
  return "page";
}

interface SocketCounters {
  read: number;
  written: number;
}
const socketCounters = new WeakMap<Socket, SocketCounters>();

/** Bytes this socket moved since the previous request on it ended (keep-alive reuses sockets). */
function socketDelta(socket: Socket): { received: number; sent: number } {
  const last = socketCounters.get(socket) ?? { read: 0, written: 0 };
  const now = { read: socket.bytesRead, written: socket.bytesWritten };
  socketCounters.set(socket, now);
  return { received: Math.max(0, now.read - last.read), sent: Math.max(0, now.written - last.written) };
}

export interface Observed {
  requestId: string;
  /** Record the outcome of a raw route (its error code, for chunk error counts). */
  errorCode(code: string | undefined): void;
  /** Run the handler inside the request's log context. */
  run<T>(fn: () => T): T;
}

export function observeRequest(req: IncomingMessage, res: ServerResponse, route: string): Observed {
  const started = process.hrtime.bigint();
  const requestId = requestIdFrom(req.headers["x-request-id"] as string | undefined);
  res.setHeader("x-request-id", requestId);
  const m = metrics();
  const method = req.method ?? "GET";
  const uploadKind = UPLOAD_KINDS[`${method} ${route}`];
  m.httpInFlight.inc();
  if (uploadKind) m.uploadsInFlight.inc({ kind: uploadKind });
  let code: string | undefined;
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const status = res.headersSent ? res.statusCode : 0;
    m.httpInFlight.dec();
    if (uploadKind) m.uploadsInFlight.dec({ kind: uploadKind });
    m.httpDuration.observe({ route, method, status: String(status) }, seconds);
    const { received, sent } = socketDelta(req.socket);
    m.httpReceived.inc({ route }, received);
    m.httpSent.inc({ route }, sent);
    if (code && (uploadKind === "chunk" || (uploadKind === "tus" && method === "PATCH"))) {
      m.chunkErrors.inc({ kind: uploadKind, code });
    }
    const record = {
      requestId,
      method,
      path: (req.url ?? "/").split("?", 1)[0],
      route,
      status,
      ms: Math.round(seconds * 1000),
      bytesIn: received,
      bytesOut: sent,
      ...(code ? { code } : {}),
      ...(res.writableFinished ? {} : { aborted: true }),
    };
    if (QUIET_ROUTES.has(route)) log.debug(record, "request");
    else if (status >= 500 || status === 0) log.warn(record, "request");
    else log.info(record, "request");
  };
  res.once("close", end);
  return {
    requestId,
    errorCode(c) {
      code = c;
    },
    run: (fn) => withLogContext({ requestId }, fn),
  };
}
