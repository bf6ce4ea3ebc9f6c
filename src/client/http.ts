import http from "node:http";
import https from "node:https";
import { Readable } from "node:stream";
import { codeForStatus, FilestoreError, isNetworkFailure, networkError } from "./errors";

// Raw HTTP for the byte routes (chunks, downloads) over node:http: request bodies stream from a
// Readable the caller makes (so a retry can make it again), responses come back as streams, and
// nothing is ever buffered whole. One keep-alive agent per protocol.

const agents = {
  "http:": new http.Agent({ keepAlive: true, maxSockets: 64 }),
  "https:": new https.Agent({ keepAlive: true, maxSockets: 64 }),
};

export interface RawRequest {
  method: string;
  url: string;
  headers?: Record<string, string>;
  /** Makes the request body (called once per attempt). */
  body?: () => Readable | Buffer;
  signal?: AbortSignal;
}

/** Sends one request; resolves with the response once its headers arrived (the body still to read). */
export function sendRaw(req: RawRequest): Promise<http.IncomingMessage> {
  const url = new URL(req.url);
  const mod = url.protocol === "https:" ? https : http;
  const agent = agents[url.protocol as "http:" | "https:"];
  return new Promise((resolve, reject) => {
    let body: Readable | Buffer | undefined;
    const out = mod.request(url, { method: req.method, headers: req.headers, agent, signal: req.signal });
    const fail = (e: unknown) => {
      if (body instanceof Readable) body.destroy();
      reject(isNetworkFailure(e) ? networkError(e, req.url) : e);
    };
    out.on("response", (res) => {
      // The server answered before reading the whole body (an early error): stop sending.
      if (body instanceof Readable && !body.readableEnded) {
        body.unpipe(out);
        body.destroy();
        // The request was never finished, so this connection cannot carry another one.
        res.once("end", () => out.destroy());
      }
      resolve(res);
    });
    out.on("error", fail);
    if (!req.body) return void out.end();
    body = req.body();
    if (Buffer.isBuffer(body)) return void out.end(body);
    body.on("error", (e) => out.destroy(e));
    body.pipe(out);
  });
}

/** Reads a (small) response body as text; at most `limit` bytes are kept. */
export async function readText(res: http.IncomingMessage, limit = 1 << 20): Promise<string> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const buf of res) {
    if (size < limit) parts.push(buf as Buffer);
    size += (buf as Buffer).length;
  }
  return Buffer.concat(parts).toString("utf8").slice(0, limit);
}

/** Reads and throws away a response body, so its connection goes back to the pool. */
export async function discard(res: http.IncomingMessage): Promise<void> {
  res.resume();
  if (res.readableEnded) return;
  await new Promise<void>((resolve) => {
    res.once("end", resolve);
    res.once("error", () => resolve());
    res.once("close", resolve);
  });
}

/** The error for a non-2xx raw-route reply: `{ error: { code, message, details? } }` (API.md). */
export async function errorFromResponse(res: http.IncomingMessage, what: string): Promise<FilestoreError> {
  const status = res.statusCode ?? 0;
  const text = await readText(res, 64 * 1024).catch(() => "");
  let code = codeForStatus(status);
  let message = `${what}: HTTP ${status}`;
  let details: Record<string, unknown> = {};
  try {
    const parsed = JSON.parse(text) as { error?: { code?: string; message?: string; details?: Record<string, unknown> } };
    if (parsed.error?.code) code = parsed.error.code === "GONE" ? "NOT_FOUND" : parsed.error.code;
    if (parsed.error?.message) message = `${what}: ${parsed.error.message}`;
    details = parsed.error?.details ?? {};
  } catch {
    // not JSON (a proxy's error page): the status says enough
  }
  const retryAfter = Number(res.headers["retry-after"]);
  if (Number.isFinite(retryAfter) && retryAfter >= 0) details = { ...details, retryAfter };
  return new FilestoreError(code, message, { status, details });
}

/**
 * fetch() for the tRPC link, over node:http and the same keep-alive agents. Node 20's built-in
 * fetch can leave its promise unsettled when a server closes the connection right away (the
 * process then simply ends, exit code 0, with nothing said); node:http reports ECONNRESET.
 */
export async function nodeFetch(input: string | URL | Request, init: RequestInit = {}): Promise<Response> {
  const url = typeof input === "string" ? input : input instanceof URL ? input.toString() : input.url;
  const headers: Record<string, string> = {};
  new Headers(init.headers).forEach((value, key) => (headers[key] = value));
  const body = init.body == null ? undefined : typeof init.body === "string" ? Buffer.from(init.body) : Buffer.from(await new Response(init.body).arrayBuffer());
  if (body) headers["content-length"] = String(body.length);
  const res = await sendRaw({ method: init.method ?? "GET", url, headers, body: body ? () => body : undefined, signal: init.signal ?? undefined });
  const out = new Headers();
  for (const [key, value] of Object.entries(res.headers)) {
    if (Array.isArray(value)) for (const v of value) out.append(key, v);
    else if (value !== undefined) out.set(key, value);
  }
  const status = res.statusCode ?? 0;
  const text = await readText(res, 64 * 1024 * 1024);
  return new Response(status === 204 || status === 304 ? null : text, { status, statusText: res.statusMessage, headers: out });
}
