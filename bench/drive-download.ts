/**
 * Benchmark: a 1 GiB ranged download through the drive's raw route (the custom server's path: bare
 * node:http + matchRawRoute + serveNode, bearer auth, local storage) against nginx with sendfile
 * serving the very same file from disk. Loopback only; curl is the client for both; bounded (a few
 * runs each) and stops by itself, cleaning up its database, storage and nginx.
 *
 *   npx tsx bench/drive-download.ts            (1 GiB, 3 runs each)
 *   BENCH_SIZE_MIB=256 BENCH_RUNS=5 npx tsx bench/drive-download.ts
 */
import { spawn, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { median } from "./drive-env";
import { prepareBenchEnv } from "./lib/env";

const SIZE = Number(process.env.BENCH_SIZE_MIB ?? 1024) * 1024 * 1024;
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const NGINX = process.env.NGINX ?? "/usr/sbin/nginx";

/** SIZE pseudo-random bytes in 1 MiB slices (never held in memory at once), hashed on the way. */
function content(hash: ReturnType<typeof createHash>): Readable {
  const slice = randomBytes(1024 * 1024);
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= SIZE) return this.push(null);
      const n = Math.min(slice.length, SIZE - sent);
      slice[0] = (slice[0]! + 1) & 0xff; // every slice differs a little
      const chunk = Buffer.from(slice.subarray(0, n));
      hash.update(chunk);
      sent += n;
      this.push(chunk);
    },
  });
}

interface Curl {
  bytes: number;
  seconds: number;
  status: number;
}

function curl(url: string, headers: Record<string, string>): Promise<Curl> {
  const args = ["-s", "-o", "/dev/null", "-w", "%{http_code} %{size_download} %{time_total}", "--max-time", "300"];
  for (const [k, v] of Object.entries(headers)) args.push("-H", `${k}: ${v}`);
  args.push(url);
  return new Promise((resolve, reject) => {
    const p = spawn("curl", args, { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.on("error", reject);
    p.on("close", (code) => {
      if (code !== 0) return reject(new Error(`curl exited ${code}`));
      const [status, size, time] = out.trim().split(" ").map(Number);
      resolve({ status: status!, bytes: size!, seconds: time! });
    });
  });
}

async function startNginx(file: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "fs-bench-nginx-"));
  const probe = http.createServer();
  await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  // As root, nginx's workers would switch to "nobody" and could not read our 0700 temp dirs.
  const user = process.getuid?.() === 0 ? "user root;" : "";
  const conf = `
${user}
daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 64; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port};
    location = /file { alias ${file}; default_type application/octet-stream; }
  }
}`;
  await writeFile(path.join(dir, "nginx.conf"), conf);
  const check = spawnSync(NGINX, ["-t", "-p", dir, "-c", path.join(dir, "nginx.conf")], { encoding: "utf8" });
  if (check.status !== 0) throw new Error(`nginx -t failed: ${check.stderr}`);
  const proc = spawn(NGINX, ["-p", dir, "-c", path.join(dir, "nginx.conf")], { stdio: "ignore" });
  const url = `http://127.0.0.1:${port}/file`;
  for (let i = 0; i < 100; i++) {
    const ok = await fetch(url, { method: "HEAD" }).then((r) => r.ok, () => false);
    if (ok) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    stop: async () => {
      proc.kill("SIGTERM");
      await new Promise((r) => proc.once("exit", r));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function main() {
  const envr = await prepareBenchEnv("download");
  const stops: Array<() => Promise<void>> = [];
  try {
    const { db } = await import("../src/server/db/client");
    const { createUser } = await import("../src/server/services/users");
    const { startSession } = await import("../src/server/auth/sessions");
    const { commitBlob } = await import("../src/server/services/blobs");
    const { insertFileEntry } = await import("../src/server/services/files/insert-file");
    const { getStorage } = await import("../src/server/storage");
    const { joinKey } = await import("../src/server/storage/keys");
    const { layoutOf, objectPath } = await import("../src/server/storage/local/files");
    const { serveNode } = await import("../src/server/http/raw");
    const { matchRawRoute } = await import("../src/server/http/routes");

    const actor = await createUser({ username: `bench_${randomBytes(4).toString("hex")}`, password: "bench-password-1", quotaBytes: SIZE * 2 });
    const { accessToken } = await startSession(actor);

    console.log(`writing ${SIZE / 1024 / 1024} MiB into local storage…`);
    const hash = createHash("sha256");
    const storage = getStorage();
    const key = joinKey("bench", randomBytes(8).toString("hex"));
    await storage.put(key, content(hash), { size: SIZE });
    const sha256 = hash.digest("hex");
    const entry = await db.$transaction(async (tx) => {
      const { blob } = await commitBlob(tx, { sha256, size: SIZE, driver: storage.name, storageKey: key });
      return insertFileEntry(tx, { ownerId: actor.userId, parentId: null, name: "big.bin", blobId: blob.id, size: SIZE, mime: null, onClash: "suffix" });
    });
    const file = objectPath(layoutOf(envr.storageDir), key);

    const server = http.createServer((req, res) => {
      const pathname = (req.url ?? "/").split("?", 1)[0] ?? "/";
      const raw = matchRawRoute(req.method ?? "GET", pathname);
      if (!raw) return void res.writeHead(404).end();
      void serveNode(raw.handler, raw.params, req, res);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    stops.push(() => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))));
    const driveUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/files/${entry.id}/content`;

    const nginx = await startNginx(file);
    stops.push(nginx.stop);

    // Ranged download of the whole file (what a resuming client sends from 0), plus one from the middle.
    const ranges = [`bytes=0-${SIZE - 1}`, `bytes=${SIZE / 2}-`];
    const drive: number[] = [];
    const ngx: number[] = [];
    let peakRss = 0;
    const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
    await curl(nginx.url, { range: ranges[0]! }); // warm the page cache once
    for (let run = 0; run < RUNS; run++) {
      for (const range of ranges) {
        const bytes = range === ranges[0] ? SIZE : SIZE / 2;
        // alternate the order so neither side always gets the warmer cache
        const order = run % 2 === 0 ? ["drive", "nginx"] : ["nginx", "drive"];
        for (const who of order) {
          const r =
            who === "drive"
              ? await curl(driveUrl, { range, authorization: `Bearer ${accessToken}` })
              : await curl(nginx.url, { range });
          if (r.status !== 206 || r.bytes !== bytes) throw new Error(`${who} ${range}: status ${r.status}, ${r.bytes} bytes`);
          const mbps = r.bytes / r.seconds / 1e6;
          (who === "drive" ? drive : ngx).push(mbps);
          console.log(`  run ${run + 1} ${who.padEnd(5)} ${range.padEnd(24)} ${mbps.toFixed(0).padStart(6)} MB/s`);
        }
      }
    }
    clearInterval(rssTimer);
    const d = median(drive);
    const n = median(ngx);
    console.log("");
    console.log(`file: ${SIZE / 1024 / 1024} MiB, ${RUNS} runs × ${ranges.length} ranges, loopback, curl client, load average ${os.loadavg().map((l) => l.toFixed(1)).join(" ")}`);
    console.log(`drive raw route (node:http + serveNode): median ${d.toFixed(0)} MB/s`);
    console.log(`nginx (sendfile on):                     median ${n.toFixed(0)} MB/s`);
    console.log(`ratio drive / nginx: ${(d / n).toFixed(2)}× (target ≥ 0.8×)`);
    console.log(`bench process peak RSS while serving: ${(peakRss / 1024 / 1024).toFixed(0)} MB (the file is ${SIZE / 1024 / 1024} MiB)`);
  } finally {
    for (const stop of stops.reverse()) await stop().catch((e) => console.error("stop failed", e));
    await envr.cleanup();
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
