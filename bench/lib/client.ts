import http from "node:http";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";

// A streaming HTTP client for benchmarks (node:http, keep-alive agent, bodies never buffered).

export const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export function request(url: string, options: { method: string; headers: Record<string, string>; body?: Readable | Buffer }): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: options.method, headers: options.headers, agent });
    req.on("response", (res) => {
      const parts: Buffer[] = [];
      res.on("data", (b: Buffer) => parts.push(b));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts).toString("utf8") }));
      res.on("error", reject);
    });
    req.on("error", reject);
    if (!options.body) req.end();
    else if (Buffer.isBuffer(options.body)) req.end(options.body);
    else pipeline(options.body, req).catch(reject);
  });
}

/** multipart/form-data around one streamed file, with its exact Content-Length. */
export function multipartFile(name: string, size: number, content: () => Readable): { headers: Record<string, string>; body: Readable } {
  const boundary = `----bench${Math.random().toString(16).slice(2)}`;
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\nContent-Type: application/octet-stream\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  async function* parts() {
    yield head;
    for await (const b of content()) yield b as Buffer;
    yield tail;
  }
  return {
    headers: { "content-type": `multipart/form-data; boundary=${boundary}`, "content-length": String(head.length + size + tail.length) },
    body: Readable.from(parts(), { objectMode: false }),
  };
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;
export const mbps = (bytes: number, ms: number) => bytes / MiB / (ms / 1000);
