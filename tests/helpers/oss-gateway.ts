import { randomBytes } from "node:crypto";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import {
  canonicalizedOssHeaders,
  canonicalizedResource,
  headerValue,
  hmacSha1Base64,
  ossStringToSign,
  parseQuery,
  s3V2StringToSign,
  signaturesEqual,
  type HeaderBag,
} from "./storage-oss-signing";

// An OSS front door for tests: speaks the Aliyun OSS protocol (V1 signatures in the Authorization
// header or in signed URLs, x-oss-* headers, OSS-style XML errors) to clients such as ali-oss, checks
// every signature, clock skew and expiry itself, then re-signs the request as AWS SigV2 and streams it
// to a real S3 server (Ceph RGW) and the answer back. Path-style addressing only (ali-oss sldEnable).
//
// What it proves and what not: see /work/shared/notes/ceph-rgw.md ("OSS protocol via local gateway
// over Ceph RGW"). Storage semantics come from RGW; OSS-only features (append, symlink, x-oss-process,
// callbacks, server-side encryption, forbid-overwrite) answer 501 NotImplemented instead of being faked.

export interface OssGatewayOptions {
  /** The S3 server requests are forwarded to, e.g. http://127.0.0.1:7480. */
  upstream: { endpoint: string; accessKeyId: string; secretAccessKey: string };
  /** AccessKeyId → AccessKeySecret pairs the gateway accepts from OSS clients. */
  credentials: Record<string, string>;
  /** Allowed clock skew for header signatures. Default 15 min (as OSS). */
  maxSkewMs?: number;
  /** Injectable clock (ms since epoch) for skew and expiry tests. */
  now?: () => number;
  port?: number;
}

export interface OssGateway {
  /** http://localhost:PORT (ali-oss refuses IP endpoints for signed URLs). */
  endpoint: string;
  port: number;
  close(): Promise<void>;
}

export interface OssRequestLike {
  method: string;
  /** Raw path as sent, e.g. /bucket/dir/a%20b.txt */
  path: string;
  rawQuery: string;
  headers: HeaderBag;
}

export type VerifyResult =
  | { ok: true; accessKeyId: string; bucket?: string; key?: string }
  | { ok: false; status: number; code: string; message: string; details?: Record<string, string> };

/** Splits a path-style request path into bucket and (decoded) key. */
export function parseOssPath(path: string): { bucket?: string; key?: string } {
  const trimmed = path.replace(/^\/+/, "");
  if (trimmed === "") return {};
  const slash = trimmed.indexOf("/");
  if (slash === -1) return { bucket: decodeURIComponent(trimmed) };
  const bucket = decodeURIComponent(trimmed.slice(0, slash));
  const rawKey = trimmed.slice(slash + 1);
  return rawKey === "" ? { bucket } : { bucket, key: decodeURIComponent(rawKey) };
}

const AUTH_HEADER = /^OSS ([^:\s]+):(\S+)$/;

/** Checks an OSS V1 header signature or signed URL, per Aliyun's published algorithm. */
export function verifyOssRequest(
  req: OssRequestLike,
  credentials: Record<string, string>,
  options: { now: number; maxSkewMs: number },
): VerifyResult {
  const query = parseQuery(req.rawQuery);
  const param = (name: string) => query.find(([k]) => k === name)?.[1] ?? undefined;
  const { bucket, key } = parseOssPath(req.path);
  const authorization = headerValue(req.headers, "authorization");
  const urlAccessKey = param("OSSAccessKeyId");

  let accessKeyId: string;
  let provided: string;
  let date: string;
  if (authorization) {
    const match = AUTH_HEADER.exec(authorization);
    if (!match?.[1] || !match[2]) return { ok: false, status: 400, code: "InvalidArgument", message: "Authorization header is invalid." };
    [, accessKeyId, provided] = match as unknown as [string, string, string];
    date = headerValue(req.headers, "x-oss-date") || headerValue(req.headers, "date");
    const when = Date.parse(date);
    if (!date || Number.isNaN(when)) return { ok: false, status: 403, code: "AccessDenied", message: "Date header is missing or invalid." };
    if (Math.abs(options.now - when) > options.maxSkewMs) {
      return {
        ok: false,
        status: 403,
        code: "RequestTimeTooSkewed",
        message: "The difference between the request time and the current time is too large.",
        details: { RequestTime: date, ServerTime: new Date(options.now).toUTCString() },
      };
    }
  } else if (urlAccessKey !== undefined) {
    const expires = param("Expires");
    const signature = param("Signature");
    if (!expires || !signature || !/^\d+$/.test(expires)) {
      return { ok: false, status: 403, code: "AccessDenied", message: "Signed URL needs OSSAccessKeyId, Expires and Signature." };
    }
    accessKeyId = urlAccessKey;
    provided = signature;
    date = expires;
    if (Number(expires) * 1000 < options.now) {
      return { ok: false, status: 403, code: "AccessDenied", message: "Request has expired.", details: { Expires: new Date(Number(expires) * 1000).toISOString() } };
    }
  } else {
    return { ok: false, status: 403, code: "AccessDenied", message: "You have no right to access this object because of bucket acl." };
  }

  const secret = credentials[accessKeyId];
  if (secret === undefined) {
    return { ok: false, status: 403, code: "InvalidAccessKeyId", message: "The OSS Access Key Id you provided does not exist in our records.", details: { OSSAccessKeyId: accessKeyId } };
  }
  const stringToSign = ossStringToSign({
    verb: req.method.toUpperCase(),
    contentMd5: headerValue(req.headers, "content-md5"),
    contentType: headerValue(req.headers, "content-type"),
    date,
    canonicalizedOssHeaders: canonicalizedOssHeaders(req.headers),
    canonicalizedResource: canonicalizedResource(bucket, key, query),
  });
  const expected = hmacSha1Base64(secret, stringToSign);
  if (!signaturesEqual(expected, provided)) {
    return {
      ok: false,
      status: 403,
      code: "SignatureDoesNotMatch",
      message: "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
      details: {
        OSSAccessKeyId: accessKeyId,
        SignatureProvided: provided,
        StringToSign: stringToSign,
        StringToSignBytes: [...Buffer.from(stringToSign, "utf8")].map((b) => b.toString(16).padStart(2, "0")).join(" "),
      },
    };
  }
  return { ok: true, accessKeyId, bucket, key };
}

const xmlEscape = (s: string) => s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);

export function ossErrorXml(code: string, message: string, requestId: string, details: Record<string, string> = {}): string {
  const extra = Object.entries(details)
    .map(([k, v]) => `  <${k}>${xmlEscape(v)}</${k}>\n`)
    .join("");
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error>\n  <Code>${code}</Code>\n  <Message>${xmlEscape(message)}</Message>\n` +
    `  <RequestId>${requestId}</RequestId>\n  <HostId>localhost</HostId>\n${extra}</Error>\n`
  );
}

/** Sub-resources and headers of OSS-only features: answered 501 rather than silently dropped. */
const UNSUPPORTED_SUBRESOURCES = new Set(["append", "position", "symlink", "x-oss-process", "img", "style", "live", "vod", "callback", "callback-var", "objectMeta", "x-oss-traffic-limit"]);
const UNSUPPORTED_HEADER = /^x-oss-(forbid-overwrite|server-side-|callback|tagging|symlink-target|process|traffic-limit)/;

/** OSS request header → S3 request header (null: drop). */
function mapRequestHeader(name: string): string | null {
  if (name.startsWith("x-oss-meta-")) return `x-amz-meta-${name.slice("x-oss-meta-".length)}`;
  switch (name) {
    case "x-oss-copy-source":
    case "x-oss-copy-source-range":
    case "x-oss-copy-source-if-match":
    case "x-oss-copy-source-if-none-match":
    case "x-oss-copy-source-if-modified-since":
    case "x-oss-copy-source-if-unmodified-since":
    case "x-oss-metadata-directive":
      return `x-amz-${name.slice("x-oss-".length)}`;
    case "x-oss-object-acl":
      return "x-amz-acl";
    case "content-type":
    case "content-length":
    case "content-md5":
    case "content-disposition":
    case "content-encoding":
    case "cache-control":
    case "expires":
    case "range":
    case "if-match":
    case "if-none-match":
    case "if-modified-since":
    case "if-unmodified-since":
      return name;
    default:
      // x-oss-date (replaced by our Date), x-oss-range-behavior (RGW already answers 416), storage
      // class, user agent, hop-by-hop headers and the OSS Authorization itself.
      return null;
  }
}

/** S3 response header → OSS response header (null: drop). */
function mapResponseHeader(name: string): string | null {
  if (name.startsWith("x-amz-meta-")) return `x-oss-meta-${name.slice("x-amz-meta-".length)}`;
  if (name === "x-amz-request-id") return "x-oss-request-id";
  if (name === "x-amz-version-id") return "x-oss-version-id";
  if (name.startsWith("x-amz-") || name.startsWith("x-rgw-")) return null;
  if (["connection", "keep-alive", "transfer-encoding", "server"].includes(name)) return null;
  return name;
}

const URL_AUTH_PARAMS = new Set(["OSSAccessKeyId", "Expires", "Signature", "security-token"]);

function encodeS3Path(bucket: string | undefined, key: string | undefined): string {
  if (!bucket) return "/";
  const encodedKey = (key ?? "").split("/").map(encodeURIComponent).join("/");
  return `/${encodeURIComponent(bucket)}/${encodedKey}`;
}

export async function startOssGateway(options: OssGatewayOptions): Promise<OssGateway> {
  const upstream = new URL(options.upstream.endpoint);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const maxSkewMs = options.maxSkewMs ?? 15 * 60 * 1000;
  const now = options.now ?? Date.now;

  function fail(req: IncomingMessage, res: ServerResponse, status: number, code: string, message: string, details?: Record<string, string>) {
    const requestId = randomBytes(12).toString("hex").toUpperCase();
    const body = req.method === "HEAD" ? "" : ossErrorXml(code, message, requestId, details);
    res.writeHead(status, {
      "content-type": "application/xml",
      "content-length": Buffer.byteLength(body),
      "x-oss-request-id": requestId,
      // HEAD answers carry no body; OSS puts the error, base64 XML, in x-oss-err instead.
      ...(req.method === "HEAD" ? { "x-oss-err": Buffer.from(ossErrorXml(code, message, requestId, details)).toString("base64") } : {}),
      // We may answer before reading the request body: do not reuse the connection.
      connection: "close",
    });
    res.end(body);
    req.resume();
  }

  function handle(req: IncomingMessage, res: ServerResponse) {
    const rawUrl = req.url ?? "/";
    const q = rawUrl.indexOf("?");
    const path = q === -1 ? rawUrl : rawUrl.slice(0, q);
    const rawQuery = q === -1 ? "" : rawUrl.slice(q + 1);
    const method = req.method ?? "GET";

    let query: Array<[string, string | null]>;
    let verdict: VerifyResult;
    try {
      query = parseQuery(rawQuery);
      verdict = verifyOssRequest({ method, path, rawQuery, headers: req.headers }, options.credentials, { now: now(), maxSkewMs });
    } catch {
      return fail(req, res, 400, "InvalidArgument", "Malformed request path or query (bad percent-encoding).");
    }
    if (!verdict.ok) return fail(req, res, verdict.status, verdict.code, verdict.message, verdict.details);

    const unsupportedQuery = query.find(([k]) => UNSUPPORTED_SUBRESOURCES.has(k));
    const unsupportedHeader = Object.keys(req.headers).find((h) => UNSUPPORTED_HEADER.test(h));
    if (unsupportedQuery || unsupportedHeader) {
      return fail(req, res, 501, "NotImplemented", `The OSS gateway does not implement ${unsupportedQuery?.[0] ?? unsupportedHeader}.`);
    }

    const forwardQuery = query.filter(([k]) => !URL_AUTH_PARAMS.has(k));
    const encodedPath = encodeS3Path(verdict.bucket, verdict.key);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      const mapped = mapRequestHeader(name);
      if (mapped && value !== undefined) headers[mapped] = Array.isArray(value) ? value.join(",") : value;
    }
    headers.host = upstream.host;
    headers.date = new Date().toUTCString();
    const stringToSign = s3V2StringToSign(method, encodedPath, forwardQuery, headers);
    headers.authorization = `AWS ${options.upstream.accessKeyId}:${hmacSha1Base64(options.upstream.secretAccessKey, stringToSign)}`;
    const search = forwardQuery
      .map(([k, v]) => (v === null ? encodeURIComponent(k) : `${encodeURIComponent(k)}=${encodeURIComponent(v)}`))
      .join("&");

    const upstreamReq = http.request(
      {
        protocol: upstream.protocol,
        hostname: upstream.hostname,
        port: upstream.port,
        method,
        path: search ? `${encodedPath}?${search}` : encodedPath,
        headers,
        agent,
      },
      (upstreamRes) => {
        const out: Record<string, string | string[]> = {};
        for (const [name, value] of Object.entries(upstreamRes.headers)) {
          const mapped = mapResponseHeader(name);
          if (mapped && value !== undefined) out[mapped] = value;
        }
        res.writeHead(upstreamRes.statusCode ?? 502, out);
        upstreamRes.pipe(res);
        upstreamRes.on("error", () => res.destroy());
      },
    );
    upstreamReq.on("error", (e) => {
      if (!res.headersSent) fail(req, res, 502, "InternalError", `Upstream S3 server failed: ${e.message}`);
      else res.destroy(e);
    });
    // A client that goes away mid-request must not leave a half-sent request upstream.
    req.on("aborted", () => upstreamReq.destroy());
    res.on("close", () => {
      if (!res.writableFinished) upstreamReq.destroy();
    });
    req.pipe(upstreamReq);
  }

  const server = http.createServer(handle);
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    endpoint: `http://localhost:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        agent.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
