// The worker moving a 1 GiB blob from local disk to Ceph RGW (blob.transfer.v1: read, SHA-256, MD5 per
// part, parallel multipart upload, HEAD, switch) against a bare @aws-sdk/lib-storage multipart upload
// of the same file in a process of its own. Prints MB/s, CPU seconds per GiB of each process, and the
// worker's peak RSS. Targets: ≥ 0.8× the bare upload, worker RSS < 250 MB.
//
//   set -a; eval "$(bash scripts/ceph-dev.sh start)"; set +a
//   flock /tmp/filestore-bench.lock npx tsx bench/transfer-local-ceph.ts      (BENCH_SIZE_MB=1024)
//
// Ceph's dev cluster keeps objects in RAM (memstore): every object written here is deleted at once.
import { CreateBucketCommand } from "@aws-sdk/client-s3";
import { spawn, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { Writable } from "node:stream";
import { buildWorker, workerNodeArgs } from "../scripts/lib/build-worker.mjs";
import { serverEnv } from "../scripts/lib/server-env.mjs";
import { Content } from "./lib/data";
import { prepareBenchEnv } from "./lib/env";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const SIZE = Number(process.env.BENCH_SIZE_MB ?? 1024) * MiB;
const PART = Number(process.env.TRANSFER_PART_BYTES ?? 8 * MiB);
const CONCURRENCY = Number(process.env.TRANSFER_PART_CONCURRENCY ?? 4);

if (!process.env.S3_ENDPOINT) throw new Error('start Ceph first: set -a; eval "$(bash scripts/ceph-dev.sh start)"; set +a');

async function procStat(pid: number): Promise<{ cpuSeconds: number; peak: number; rss: number }> {
  const stat = (await readFile(`/proc/${pid}/stat`, "utf8")).split(") ")[1]!.split(" ");
  const ticks = Number(stat[11]) + Number(stat[12]); // utime + stime (fields 14, 15)
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const kb = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) * 1024;
  return { cpuSeconds: ticks / 100, peak: kb("VmHWM"), rss: kb("VmRSS") };
}

const env = await prepareBenchEnv("xfer");
const bucket = `fs-bench-${Date.now().toString(36)}${randomBytes(3).toString("hex")}`;
Object.assign(process.env, {
  AMQP_PREFIX: `fs-bench-${randomBytes(4).toString("hex")}`,
  TRANSFER_TARGET: "s3",
  S3_BUCKET: bucket,
  S3_FORCE_PATH_STYLE: "true",
  TRANSFER_PART_BYTES: String(PART),
  TRANSFER_PART_CONCURRENCY: String(CONCURRENCY),
  TRANSFER_GRACE_SECONDS: "3600",
});
const { db } = await import("../src/server/db/client");
const { enqueueJob } = await import("../src/server/jobs/outbox");
const { blobStorage } = await import("../src/server/services/blobs");
const { getStorage } = await import("../src/server/storage");
const { closeQueue } = await import("../src/server/queue/connection");
const { rawS3Client, dropBucket } = await import("../tests/helpers/s3-raw");
const s3 = rawS3Client();
await s3.send(new CreateBucketCommand({ Bucket: bucket }));
let worker: ReturnType<typeof spawn> | null = null;

try {
  // 1. The blob on local disk, written once (then in the page cache for both contenders).
  const key = `uploads/bench${randomBytes(8).toString("hex")}`;
  const content = new Content(SIZE, "xfer");
  const sha = createHash("sha256");
  await pipeline(content.stream(), new Writable({ write(chunk: Buffer, _e, cb) { sha.update(chunk); cb(); } }));
  await getStorage().put(key, content.stream(), { size: SIZE });
  const file = path.join(env.storageDir, "objects", key);
  const sha256 = sha.digest("hex");
  console.log(`blob: ${(SIZE / MiB).toFixed(0)} MiB on local disk; parts ${PART / MiB} MiB × ${CONCURRENCY} in parallel; load ${(await readFile("/proc/loadavg", "utf8")).split(" ").slice(0, 3).join(" ")}`);

  // 2. Baseline: bare lib-storage multipart upload, its own process.
  const base = spawnSync(process.execPath, ["--import", "tsx", path.join(import.meta.dirname, "lib/s3-upload-baseline.ts"), file, bucket, `baseline/${key}`, String(PART), String(CONCURRENCY)], {
    env: serverEnv(),
    encoding: "utf8",
  });
  if (base.status !== 0) throw new Error(`baseline failed: ${base.stderr}`);
  const baseline = JSON.parse(base.stdout.trim().split("\n").pop()!) as { seconds: number; cpuSeconds: number; peakRss: number };
  await blobStorage("s3").delete(`baseline/${key}`);

  // 3. The worker: a real worker process, idle and consuming, then the job.
  // The worker as npm start runs it (and the image, dist/worker.mjs): compiled by esbuild, not through tsx.
  // (Inside the project, so its imports find node_modules.)
  const bundle = await buildWorker(path.resolve(import.meta.dirname, "../node_modules/.cache/filestore-bench/worker.mjs"));
  worker = spawn(process.execPath, [...workerNodeArgs, bundle], { env: serverEnv(), stdio: ["ignore", "pipe", "pipe"], cwd: path.resolve(import.meta.dirname, "..") });
  let out = "";
  worker.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  worker.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  for (let i = 0; !/consuming /.test(out); i++) {
    if (i > 600 || worker.exitCode !== null) throw new Error(`worker did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, 2000)); // settle after start-up
  const before = await procStat(worker.pid!);
  const t0 = performance.now();
  const blob = await db.blob.create({ data: { sha256, size: BigInt(SIZE), driver: "local", storageKey: key, refCount: 1 } });
  const jobId = await db.$transaction((tx) => enqueueJob(tx, "blob.transfer.v1", { blobId: blob.id, storageKey: key }, { subject: blob.id }));
  for (;;) {
    const row = await db.$primary().transferOutbox.findUniqueOrThrow({ where: { id: jobId } });
    if (row.state === "done") break;
    if (row.state === "failed" || worker.exitCode !== null) throw new Error(`transfer failed: ${row.lastError}\n${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const wall = (performance.now() - t0) / 1000;
  const after = await procStat(worker.pid!);
  const own = /moved local → s3 \([\d.]+ MB in ([\d.]+) s/.exec(out);
  const copySeconds = own ? Number(own[1]) : wall;
  await blobStorage("s3").delete(key);

  const mbps = (s: number) => SIZE / 1e6 / s;
  const cpuPerGiB = (c: number) => (c / (SIZE / GiB)).toFixed(2);
  console.log(`bare lib-storage upload: ${mbps(baseline.seconds).toFixed(1)} MB/s (${baseline.seconds.toFixed(2)} s), CPU ${cpuPerGiB(baseline.cpuSeconds)} s/GiB, peak RSS ${(baseline.peakRss / MiB).toFixed(0)} MiB`);
  console.log(
    `worker transfer:         ${mbps(copySeconds).toFixed(1)} MB/s (${copySeconds.toFixed(2)} s copy+verify+switch; ${wall.toFixed(2)} s from enqueue to done), CPU ${cpuPerGiB(after.cpuSeconds - before.cpuSeconds)} s/GiB, peak RSS ${(after.peak / MiB).toFixed(0)} MiB (idle ${(before.rss / MiB).toFixed(0)} MiB)`,
  );
  console.log(`ratio worker / bare: ${(baseline.seconds / copySeconds).toFixed(2)}× (target ≥ 0.8×); worker peak RSS ${(after.peak / 1e6).toFixed(0)} MB (target < 250 MB)`);
} finally {
  if (worker && worker.exitCode === null) {
    worker.kill("SIGTERM");
    await new Promise((r) => worker!.once("exit", r));
  }
  await dropBucket(s3, bucket).catch((e) => console.error(`dropping ${bucket} failed: ${e}`));
  s3.destroy();
  await closeQueue();
  const { deleteBrokerNames } = await import("../tests/helpers/broker-names");
  await deleteBrokerNames(process.env.AMQP_URL ?? "amqp://guest:guest@127.0.0.1:5672", process.env.AMQP_PREFIX!).catch(() => undefined);
  await env.cleanup();
}
process.exit(process.exitCode ?? 0);
