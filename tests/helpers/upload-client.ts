import { createHash } from "node:crypto";
import http from "node:http";
import { db } from "~/server/db/client";
import { getStorage } from "~/server/storage";

// Client-side helpers for upload tests: deterministic bytes, the chunk and form routes over real
// HTTP, and views of what the drive holds (rows and storage objects) to prove "nothing was kept".

/** Deterministic pseudo-random bytes (xorshift32), different per seed. */
export function patternBytes(size: number, seed = 1): Buffer {
  const out = Buffer.allocUnsafe(size);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

export function sha256hex(data: Buffer | Uint8Array | string): string {
  return createHash("sha256").update(data).digest("hex");
}

export function contentDigest(data: Buffer): string {
  return `sha-256=:${createHash("sha256").update(data).digest("base64")}:`;
}

export interface HttpReply {
  status: number;
  headers: Headers;
  json: any;
}

/** A fetch response read whole: status, headers and the body parsed as JSON when it is JSON. */
export async function reply(res: Response): Promise<HttpReply> {
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = text;
  }
  return { status: res.status, headers: res.headers, json };
}

export async function sendChunk(
  baseUrl: string,
  auth: Record<string, string>,
  uploadId: string,
  index: number | string,
  body: Buffer,
  headers: Record<string, string> = {},
): Promise<HttpReply> {
  const res = await fetch(`${baseUrl}/api/uploads/${encodeURIComponent(uploadId)}/chunks/${index}`, {
    method: "PUT",
    headers: { "content-type": "application/octet-stream", ...auth, ...headers },
    body: new Uint8Array(body),
  });
  return reply(res);
}

/** The chunk as multipart/form-data with one file field (default name `chunk`). */
export async function sendChunkMultipart(
  baseUrl: string,
  auth: Record<string, string>,
  uploadId: string,
  index: number,
  body: Buffer,
  field = "chunk",
): Promise<HttpReply> {
  const form = new FormData();
  form.append(field, new Blob([new Uint8Array(body)]), "chunk.bin");
  const res = await fetch(`${baseUrl}/api/uploads/${uploadId}/chunks/${index}`, { method: "PUT", headers: auth, body: form });
  return reply(res);
}

export async function postFiles(
  baseUrl: string,
  auth: Record<string, string>,
  files: Array<{ name: string; data: Buffer; type?: string }>,
  parentId?: string | null,
): Promise<HttpReply> {
  const form = new FormData();
  if (parentId !== undefined) form.append("parentId", parentId ?? "");
  for (const f of files) form.append("file", new Blob([new Uint8Array(f.data)], { type: f.type ?? "" }), f.name);
  const res = await fetch(`${baseUrl}/api/files`, { method: "POST", headers: auth, body: form });
  return reply(res);
}

/**
 * A raw HTTP request over node:http, for bodies fetch cannot send: a multipart body cut short, a
 * body longer than declared, a client that disconnects mid-body (`destroyAfter` bytes, then the
 * socket is destroyed and the promise resolves with status 0).
 */
export function rawRequest(
  baseUrl: string,
  options: { method: string; path: string; headers: Record<string, string>; body: Buffer; destroyAfter?: number },
): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const url = new URL(options.path, baseUrl);
    const req = http.request(url, { method: options.method, headers: options.headers });
    let settled = false;
    req.on("response", (res) => {
      const parts: Buffer[] = [];
      res.on("data", (b: Buffer) => parts.push(b));
      res.on("end", () => {
        settled = true;
        const text = Buffer.concat(parts).toString("utf8");
        let json: unknown = text;
        try {
          json = JSON.parse(text);
        } catch {
          /* not JSON */
        }
        const headers = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (typeof v === "string") headers.set(k, v);
        resolve({ status: res.statusCode ?? 0, headers, json });
      });
    });
    req.on("error", (e) => {
      if (settled) return;
      if (options.destroyAfter !== undefined) resolve({ status: 0, headers: new Headers(), json: null });
      else reject(e);
    });
    if (options.destroyAfter !== undefined) {
      req.write(options.body.subarray(0, options.destroyAfter), () => {
        setTimeout(() => {
          req.destroy();
          resolve({ status: 0, headers: new Headers(), json: null });
        }, 100);
      });
    } else {
      req.end(options.body);
    }
  });
}

/** A multipart/form-data body built by hand (so tests can truncate or corrupt it). */
export function multipartBody(
  parts: Array<{ name: string; filename?: string; data: Buffer | string; type?: string }>,
  boundary = `----fsTest${Math.random().toString(16).slice(2)}`,
): { body: Buffer; contentType: string } {
  const chunks: Buffer[] = [];
  for (const p of parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"`;
    if (p.filename !== undefined) head += `; filename="${p.filename}"`;
    head += "\r\n";
    if (p.filename !== undefined) head += `Content-Type: ${p.type ?? "application/octet-stream"}\r\n`;
    chunks.push(Buffer.from(`${head}\r\n`), Buffer.isBuffer(p.data) ? p.data : Buffer.from(p.data), Buffer.from("\r\n"));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

export async function visibleFiles(ownerId: string) {
  return db.$primary().entry.findMany({ where: { ownerId, kind: "file" }, include: { blob: true }, orderBy: { createdAt: "asc" } });
}

export async function quotaOf(userId: string) {
  const u = await db.$primary().user.findUniqueOrThrow({ where: { id: userId } });
  return { used: Number(u.usedBytes), reserved: Number(u.reservedBytes), quota: Number(u.quotaBytes) };
}

/** Reads a blob's bytes back from storage. */
export async function readBlob(storageKey: string): Promise<Buffer> {
  const stream = await getStorage().get(storageKey);
  if (!stream) throw new Error(`no object at ${storageKey}`);
  const parts: Buffer[] = [];
  for await (const b of stream) parts.push(b as Buffer);
  return Buffer.concat(parts);
}
