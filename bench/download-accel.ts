/**
 * Benchmark: downloads with DOWNLOAD_MODE=accel — nginx (the deploy template,
 * deploy/nginx/filestore.conf.template) in front of the drive, the drive authorising each request
 * and answering X-Accel-Redirect — against nginx alone serving the same file from disk. Also the
 * drive proxying the bytes itself behind the same nginx (DOWNLOAD_MODE=proxy), for comparison.
 * Every server is a process of its own; curl is the client (it only discards bytes). Prints MB/s
 * and each server's CPU seconds per GiB (utime+stime from /proc, nginx master and workers summed).
 *
 *   flock /tmp/filestore-bench.lock npx tsx bench/download-accel.ts
 *   BENCH_SIZE_MIB=256 BENCH_RUNS=5 npx tsx bench/download-accel.ts
 */
import { spawn, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { prepareBenchEnv } from "./lib/env";
import { startChild, stopChildren } from "./lib/servers";

const SIZE = Number(process.env.BENCH_SIZE_MIB ?? 1024) * 1024 * 1024;
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const NGINX = process.env.NGINX ?? "/usr/sbin/nginx";
const TICKS = 100; // USER_HZ on Linux

function content(hash: ReturnType<typeof createHash>): Readable {
  const slice = randomBytes(1024 * 1024);
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= SIZE) return this.push(null);
      const n = Math.min(slice.length, SIZE - sent);
      slice[0] = (slice[0]! + 1) & 0xff;
      const chunk = Buffer.from(slice.subarray(0, n));
      hash.update(chunk);
      sent += n;
      this.push(chunk);
    },
  });
}

/** CPU seconds (user + system) of a process and all its descendants. */
async function cpuSeconds(pid: number): Promise<number> {
  let total = 0;
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
  if (stat) {
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    total += (Number(fields[11]) + Number(fields[12])) / TICKS;
  }
  const children = await readFile(`/proc/${pid}/task/${pid}/children`, "utf8").catch(() => "");
  for (const child of children.trim().split(/\s+/).filter(Boolean)) total += await cpuSeconds(Number(child));
  return total;
}

function curl(url: string, headers: Record<string, string>): Promise<{ status: number; bytes: number; seconds: number }> {
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

/** nginx alone: the same file from a plain static location, in a process of its own. */
async function startPlainNginx(file: string): Promise<{ url: string; pid: number; stop: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "fs-bench-nginx-"));
  const port = 20000 + Math.floor(Math.random() * 20000);
  const user = process.getuid?.() === 0 ? "user root;" : "";
  await writeFile(
    path.join(dir, "nginx.conf"),
    `${user}
daemon off; worker_processes 1; pid ${dir}/nginx.pid; error_log ${dir}/error.log warn;
events { worker_connections 64; }
http {
  access_log off; sendfile on; tcp_nopush on;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  server { listen 127.0.0.1:${port}; location = /file { alias ${file}; default_type application/octet-stream; } }
}`,
  );
  const check = spawnSync(NGINX, ["-t", "-p", dir, "-c", path.join(dir, "nginx.conf")], { encoding: "utf8" });
  if (check.status !== 0) throw new Error(`nginx -t failed: ${check.stderr}`);
  const proc = spawn(NGINX, ["-p", dir, "-c", path.join(dir, "nginx.conf")], { stdio: "ignore" });
  const url = `http://127.0.0.1:${port}/file`;
  for (let i = 0; i < 100 && !(await fetch(url, { method: "HEAD" }).then((r) => r.ok, () => false)); i++) await new Promise((r) => setTimeout(r, 50));
  return {
    url,
    pid: proc.pid!,
    stop: async () => {
      proc.kill("SIGTERM");
      await new Promise((r) => proc.once("exit", r));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main() {
  const envr = await prepareBenchEnv("accel");
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
    const { startNginx } = await import("../tests/helpers/nginx");

    const actor = await createUser({ username: `bench_${randomBytes(4).toString("hex")}`, password: "bench-password-1", quotaBytes: SIZE * 2 });
    const { accessToken } = await startSession(actor);
    console.log(`writing ${SIZE / 1024 / 1024} MiB into local storage…`);
    const hash = createHash("sha256");
    const key = joinKey("bench", randomBytes(8).toString("hex"));
    await getStorage().put(key, content(hash), { size: SIZE });
    const sha256 = hash.digest("hex");
    const entry = await db.$transaction(async (tx) => {
      const { blob } = await commitBlob(tx, { sha256, size: SIZE, driver: "local", storageKey: key });
      return insertFileEntry(tx, { ownerId: actor.userId, parentId: null, name: "big.bin", blobId: blob.id, size: SIZE, mime: null, onClash: "suffix" });
    });
    const file = objectPath(layoutOf(envr.storageDir), key);
    const limits = { RATE_LIMIT_DOWNLOADS_PER_MINUTE: "0", DOWNLOADS_MAX_PARALLEL: "0" };

    const accelDrive = await startChild("app-server.ts", { DOWNLOAD_MODE: "accel", ...limits });
    const proxyDrive = await startChild("app-server.ts", { DOWNLOAD_MODE: "proxy", ...limits });
    stops.push(stopChildren);
    const front = async (drive: { baseUrl: string }) => {
      const upstream = drive.baseUrl.replace("http://", "");
      const n = await startNginx({ FILESTORE_WEB_1: upstream, FILESTORE_WEB_2: upstream, STORAGE_LOCAL_DIR: envr.storageDir, DOWNLOAD_ACCEL_PREFIX: "/_filestore_local/" });
      stops.push(n.stop);
      return n;
    };
    const accelNginx = await front(accelDrive);
    const proxyNginx = await front(proxyDrive);
    const plain = await startPlainNginx(file);
    stops.push(plain.stop);

    const auth = { authorization: `Bearer ${accessToken}` };
    const contentPath = `/api/files/${entry.id}/content`;
    const setups = {
      "nginx alone": { url: plain.url, headers: {}, pids: [plain.pid] },
      "drive accel (nginx sends)": { url: `${accelNginx.baseUrl}${contentPath}`, headers: auth, pids: [accelNginx.pid, accelDrive.child.pid!] },
      "drive proxy (behind nginx)": { url: `${proxyNginx.baseUrl}${contentPath}`, headers: auth, pids: [proxyNginx.pid, proxyDrive.child.pid!] },
    } as const;
    type Name = keyof typeof setups;
    const names = Object.keys(setups) as Name[];
    const mbps: Record<Name, number[]> = { "nginx alone": [], "drive accel (nginx sends)": [], "drive proxy (behind nginx)": [] };
    const cpu: Record<Name, number[]> = { "nginx alone": [0], "drive accel (nginx sends)": [0, 0], "drive proxy (behind nginx)": [0, 0] };
    const bytes: Record<Name, number> = { "nginx alone": 0, "drive accel (nginx sends)": 0, "drive proxy (behind nginx)": 0 };
    await curl(plain.url, {}); // page cache
    // First requests pay for module loading and the query compiler: not part of what is measured.
    for (const name of names) for (let i = 0; i < 3; i++) await curl(setups[name].url, { ...setups[name].headers, range: "bytes=0-1023" });

    const ranges = [undefined, `bytes=${SIZE / 2}-`];
    for (let run = 0; run < RUNS; run++) {
      const order = run % 2 === 0 ? names : [...names].reverse();
      for (const range of ranges) {
        for (const name of order) {
          const s = setups[name];
          const before = await Promise.all(s.pids.map(cpuSeconds));
          const r = await curl(s.url, { ...s.headers, ...(range ? { range } : {}) });
          const after = await Promise.all(s.pids.map(cpuSeconds));
          const want = range ? SIZE / 2 : SIZE;
          if (r.bytes !== want || (r.status !== 200 && r.status !== 206)) throw new Error(`${name} ${range ?? "full"}: ${r.status}, ${r.bytes} bytes`);
          s.pids.forEach((_, i) => (cpu[name][i]! += after[i]! - before[i]!));
          bytes[name] += r.bytes;
          mbps[name].push(r.bytes / r.seconds / 1e6);
          console.log(`  run ${run + 1} ${name.padEnd(27)} ${(range ?? "whole file").padEnd(18)} ${(r.bytes / r.seconds / 1e6).toFixed(0).padStart(6)} MB/s`);
        }
      }
    }
    console.log("");
    console.log(`file ${SIZE / 1024 / 1024} MiB, ${RUNS} runs × (whole + second half), loopback, curl → /dev/null, load average ${os.loadavg().map((l) => l.toFixed(1)).join(" ")}`);
    const GiB = 1024 ** 3;
    for (const name of names) {
      const perGiB = cpu[name].map((c) => (c / (bytes[name] / GiB)).toFixed(2));
      const label = name === "nginx alone" ? `nginx ${perGiB[0]}` : `nginx ${perGiB[0]} + drive ${perGiB[1]}`;
      console.log(`${name.padEnd(27)} median ${median(mbps[name]).toFixed(0).padStart(6)} MB/s   CPU s/GiB: ${label}`);
    }
    const base = median(mbps["nginx alone"]);
    console.log(`ratio accel / nginx alone: ${(median(mbps["drive accel (nginx sends)"]) / base).toFixed(2)}× (target ≥ 0.9×)`);
    console.log(`ratio proxy / nginx alone: ${(median(mbps["drive proxy (behind nginx)"]) / base).toFixed(2)}×`);
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
