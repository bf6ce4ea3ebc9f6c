import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream, existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { Transform } from "node:stream";
import { freePort } from "./browser";
import { projectRoot, spawnTsx, type Spawned } from "./processes";

// The command line's tests: the app as users run it (src/server/main.ts on the production build,
// real MariaDB, Redis, RabbitMQ and storage), a counting proxy in front of it that records what
// the server was sent (chunk bytes per upload and index, download bytes, refresh tokens presented)
// and can slow transfers down, and the CLI run as a subprocess (bin/filestore.mjs) with its own
// XDG config and state directories.

export interface App {
  baseUrl: string;
  server: Spawned;
  stop(): Promise<void>;
}

export async function startApp(env: Record<string, string> = {}): Promise<App> {
  if (!existsSync(path.join(projectRoot, ".next/BUILD_ID"))) {
    throw new Error("No production build in .next: run `npm run build` first (scripts/test.sh does)");
  }
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const server = spawnTsx("src/server/main.ts", { NODE_ENV: "production", HOST: "127.0.0.1", PORT: String(port), NEXTAUTH_URL: baseUrl, ...env });
  // Next starts slowly on a loaded machine: give it time rather than fail the file.
  await server.waitFor(/listening on/, 300_000);
  return { baseUrl, server, stop: async () => void (await server.stop()) };
}

export interface ChunkPut {
  run: number;
  uploadId: string;
  index: number;
  /** Body bytes the proxy passed on to the server. */
  bytes: number;
  /** The server's status, or null when the request never got an answer (the client died). */
  status: number | null;
}

export interface ContentGet {
  run: number;
  path: string;
  range: string | null;
  status: number | null;
  /** Response body bytes the proxy passed on to the client. */
  bytes: number;
}

export interface CountingProxy {
  url: string;
  chunkPuts: ChunkPut[];
  contentGets: ContentGet[];
  /** Every refresh token presented to auth.refresh, in order. */
  refreshTokens: string[];
  /** Requests answered 401. */
  unauthorized: number;
  /** Tags what follows (e.g. the first and the second run of an upload). */
  run: number;
  /** Bytes per second for chunk bodies and download bodies (all requests together); 0 = full speed. */
  throttle: number;
  /** Changes bytes of download bodies (an integrity test): flips the byte at this offset of each body. */
  corruptDownloadsAt: number | null;
  close(): Promise<void>;
}

export async function startCountingProxy(target: string): Promise<CountingProxy> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  // One pacing clock for all throttled bodies together: each buffer goes out when the bytes before
  // it have had their time at `throttle` bytes per second.
  let nextFree = 0;
  const pacer = () =>
    new Transform({
      transform(buf: Buffer, _enc, cb) {
        if (!proxy.throttle) return cb(null, buf);
        const now = Date.now();
        nextFree = Math.max(now, nextFree) + (buf.length / proxy.throttle) * 1000;
        setTimeout(() => cb(null, buf), nextFree - now);
      },
    });

  const server = http.createServer((req, res) => {
    const url = req.url ?? "/";
    const pathname = url.split("?", 1)[0]!;
    const chunk = /^\/api\/uploads\/([^/]+)\/chunks\/(\d+)$/.exec(pathname);
    const content = req.method === "GET" && /^\/api\/files\/[^/]+\/content$/.test(pathname);
    const put: ChunkPut | null = chunk && req.method === "PUT" ? { run: proxy.run, uploadId: decodeURIComponent(chunk[1]!), index: Number(chunk[2]), bytes: 0, status: null } : null;
    if (put) proxy.chunkPuts.push(put);
    const get: ContentGet | null = content ? { run: proxy.run, path: pathname, range: (req.headers.range as string | undefined) ?? null, status: null, bytes: 0 } : null;
    if (get) proxy.contentGets.push(get);

    const upstream = http.request(`${target}${url}`, { method: req.method, headers: req.headers, agent });
    upstream.on("response", (up) => {
      if (put) put.status = up.statusCode ?? 0;
      if (get) get.status = up.statusCode ?? 0;
      if (up.statusCode === 401) proxy.unauthorized++;
      res.writeHead(up.statusCode ?? 502, up.headers);
      if (!get) return void up.pipe(res);
      let offset = 0;
      const count = new Transform({
        transform(buf: Buffer, _enc, cb) {
          const at = proxy.corruptDownloadsAt;
          if (at !== null && at >= offset && at < offset + buf.length) {
            buf = Buffer.from(buf);
            buf[at - offset] = buf[at - offset]! ^ 0xff;
          }
          offset += buf.length;
          get.bytes += buf.length;
          cb(null, buf);
        },
      });
      up.pipe(pacer()).pipe(count).pipe(res);
    });
    upstream.on("error", () => res.destroy());
    res.on("close", () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.on("aborted", () => upstream.destroy());

    if (pathname === "/api/trpc/auth.refresh") {
      const parts: Buffer[] = [];
      req.on("data", (b: Buffer) => parts.push(b));
      req.on("end", () => {
        const body = Buffer.concat(parts);
        try {
          proxy.refreshTokens.push(JSON.parse(body.toString("utf8")).json.refreshToken);
        } catch {
          proxy.refreshTokens.push("<unreadable>");
        }
        upstream.end(body);
      });
      return;
    }
    if (put) {
      const count = new Transform({
        transform(buf: Buffer, _enc, cb) {
          put.bytes += buf.length;
          cb(null, buf);
        },
      });
      req.pipe(pacer()).pipe(count).pipe(upstream);
      return;
    }
    req.pipe(upstream);
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  const proxy: CountingProxy = {
    url: `http://127.0.0.1:${port}`,
    chunkPuts: [],
    contentGets: [],
    refreshTokens: [],
    unauthorized: 0,
    run: 0,
    throttle: 0,
    corruptDownloadsAt: null,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
        agent.destroy();
      }),
  };
  return proxy;
}

export interface CliHome {
  /** XDG_CONFIG_HOME */
  config: string;
  /** XDG_STATE_HOME */
  state: string;
  env: Record<string, string>;
  remove(): Promise<void>;
}

/** Fresh config and state directories for one simulated user of the CLI. */
export async function cliHome(url: string): Promise<CliHome> {
  const root = await mkdtemp(path.join(os.tmpdir(), "fs-cli-"));
  const config = path.join(root, "config");
  const state = path.join(root, "state");
  return {
    config,
    state,
    env: { XDG_CONFIG_HOME: config, XDG_STATE_HOME: state, FILESTORE_URL: url, HOME: root },
    remove: () => rm(root, { recursive: true, force: true }),
  };
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON (for --json runs). */
  json<T = any>(): T;
}

export interface CliProcess {
  child: ChildProcess;
  output: () => { stdout: string; stderr: string };
  done: Promise<CliRun>;
}

/** Starts `filestore <args>` as its own process (node bin/filestore.mjs, as the bin entry runs it). */
export function startCli(args: string[], opts: { env: Record<string, string>; input?: string; cwd?: string }): CliProcess {
  const child = spawn(process.execPath, [path.join(projectRoot, "bin/filestore.mjs"), ...args], {
    cwd: opts.cwd ?? projectRoot,
    // Only what a user of the CLI has: no server configuration leaks in from the test run.
    env: { PATH: process.env.PATH ?? "", ...opts.env } as unknown as NodeJS.ProcessEnv,
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (b: Buffer) => (stdout += b.toString("utf8")));
  child.stderr!.on("data", (b: Buffer) => (stderr += b.toString("utf8")));
  child.stdin!.end(opts.input ?? "");
  const done = new Promise<CliRun>((resolve) => {
    child.once("close", (code) =>
      resolve({
        code,
        stdout,
        stderr,
        json: () => {
          try {
            return JSON.parse(stdout);
          } catch {
            throw new Error(`not JSON (exit ${code}):\n${stdout}\nstderr:\n${stderr}`);
          }
        },
      }),
    );
  });
  return { child, output: () => ({ stdout, stderr }), done };
}

export function cli(args: string[], opts: { env: Record<string, string>; input?: string; cwd?: string }): Promise<CliRun> {
  return startCli(args, opts).done;
}

export async function fileSha256(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const buf of createReadStream(file)) hash.update(buf as Buffer);
  return hash.digest("hex");
}
