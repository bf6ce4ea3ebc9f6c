/**
 * Benchmark: file.list (the first page of 100 of a 2 000-entry folder, through the tRPC caller) with reads
 * on the primary against reads on the replica, on the MariaDB pair of scripts/mysql-replica.sh, and
 * the cost of read-your-writes: the same list right after the user's own write (a rename), which on
 * the replica means a Redis lookup of the user's GTID position and MASTER_GTID_WAIT before the read.
 *
 * Each mode runs in its own process (the app reads its configuration once): `primary` without
 * DATABASE_REPLICA_URLS, `replica` with it. Prints p50/p99 per mode, where the reads went (the
 * filestore_db_reads_total counter) and each MariaDB server's CPU time per 1 000 lists (from
 * /proc/<pid>/stat of the pair's pid files) — CPU is steadier than wall time on a shared machine.
 *
 *   eval "$(bash scripts/mysql-replica.sh start)"; export TEST_REPLICA_PRIMARY_URL TEST_REPLICA_URL
 *   flock /tmp/filestore-bench.lock npx tsx bench/replica-reads.ts
 *   BENCH_LISTS=2000 BENCH_ENTRIES=5000 npx tsx bench/replica-reads.ts
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import mariadb from "mariadb";
import { percentile } from "./drive-env";
import { prepareBenchEnv } from "./lib/env";

const ENTRIES = Number(process.env.BENCH_ENTRIES ?? 2_000);
const LISTS = Number(process.env.BENCH_LISTS ?? 1_000);
const AFTER_WRITE = Number(process.env.BENCH_AFTER_WRITE ?? 300);
const PAGE = 100;
const PAIR_DIR = process.env.FILESTORE_REPLICA_DIR ?? "/tmp/filestore-replica";

interface ModeResult {
  mode: string;
  idle: number[];
  afterWrite: number[];
  write: number[];
  routed: Record<string, number>;
  cpuMs: { primary: number; replica: number };
}

function serverCpuMs(name: "primary" | "replica"): number {
  const pid = readFileSync(path.join(PAIR_DIR, name, "mysqld.pid"), "utf8").trim();
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime + stime, in clock ticks (100 Hz)
}

const cpuNow = () => ({ primary: serverCpuMs("primary"), replica: serverCpuMs("replica") });

/** One mode, in this process: the environment is already set by the parent. */
async function runMode(mode: string): Promise<ModeResult> {
  const { db } = await import("../src/server/db/client");
  const { createUser } = await import("../src/server/services/users");
  const { createCaller } = await import("../src/server/trpc/root");
  const { metrics } = await import("../src/server/metrics");
  const { startReplicaMonitor } = await import("../src/server/db/replicas");
  const { positionFor } = await import("../src/server/db/causal");
  await startReplicaMonitor();

  const actor = await createUser({ username: `bench_${randomBytes(4).toString("hex")}`, password: "bench-password-1" });
  const caller = createCaller({ actor, headers: new Headers(), resHeaders: new Headers(), clientIp: "127.0.0.1" });
  const folder = await caller.file.mkdir({ name: "big" });
  // Renamed before each "after own write" list; "!" sorts before every other name: the first row.
  const renamed = await caller.file.mkdir({ parentId: folder.id, name: "!a" });
  const blob = await db.blob.create({
    data: { sha256: randomBytes(32).toString("hex"), size: 1n, driver: "local", storageKey: "bench/none", refCount: ENTRIES },
  });
  const rows = Array.from({ length: ENTRIES }, (_, i) => {
    const isFolder = i % 10 === 0;
    const name = `${randomBytes(3).toString("hex")} item ${i}${isFolder ? "" : ".dat"}`;
    return {
      ownerId: actor.userId,
      parentId: folder.id,
      parentKey: folder.id,
      kind: isFolder ? ("folder" as const) : ("file" as const),
      name,
      activeName: name,
      blobId: isFolder ? null : blob.id,
      size: isFolder ? null : BigInt(i),
      mime: isFolder ? null : "application/octet-stream",
    };
  });
  for (let i = 0; i < rows.length; i += 2000) await db.entry.createMany({ data: rows.slice(i, i + 2000) });
  // Let the replica apply the fill and the monitor see it; this run's Redis prefix is new, so
  // positions are "unknown" (reads on the primary) for a window first (db/causal.ts): wait it out.
  await new Promise((r) => setTimeout(r, 2_000));
  if (mode === "replica") {
    const end = Date.now() + 60_000;
    while ((await positionFor(actor.userId)) === null) {
      if (Date.now() > end) throw new Error("positions stayed unknown");
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  for (let i = 0; i < 100; i++) await caller.file.list({ parentId: folder.id, limit: PAGE });

  const idle: number[] = [];
  const cpu0 = cpuNow();
  for (let i = 0; i < LISTS; i++) {
    const t0 = performance.now();
    const page = await caller.file.list({ parentId: folder.id, limit: PAGE });
    idle.push(performance.now() - t0);
    if (page.items.length !== PAGE) throw new Error("short page");
  }
  const cpu1 = cpuNow();

  const afterWrite: number[] = [];
  const write: number[] = [];
  for (let i = 0; i < AFTER_WRITE; i++) {
    const w0 = performance.now();
    await caller.file.rename({ id: renamed.id, name: `!a${i}` });
    write.push(performance.now() - w0);
    const t0 = performance.now();
    const page = await caller.file.list({ parentId: folder.id, limit: PAGE });
    afterWrite.push(performance.now() - t0);
    // Read-your-writes, checked on every iteration: the list shows the rename just made.
    if (page.items[0]?.name !== `!a${i}`) throw new Error(`list after rename ${i} shows ${page.items[0]?.name}`);
  }

  const routed: Record<string, number> = {};
  for (const v of (await metrics().dbReads.get()).values) routed[`${v.labels.target}/${v.labels.why}`] = v.value;
  const per1000 = (x: number) => (x * 1000) / LISTS;
  return {
    mode,
    idle: idle.sort((a, b) => a - b),
    afterWrite: afterWrite.sort((a, b) => a - b),
    write: write.sort((a, b) => a - b),
    routed,
    cpuMs: { primary: per1000(cpu1.primary - cpu0.primary), replica: per1000(cpu1.replica - cpu0.replica) },
  };
}

async function child(mode: string) {
  const envr = await prepareBenchEnv(`replica_${mode}`);
  try {
    if (mode === "replica") {
      const u = new URL(process.env.DATABASE_URL!);
      const r = new URL(process.env.TEST_REPLICA_URL!);
      r.pathname = u.pathname;
      process.env.DATABASE_REPLICA_URLS = r.toString();
    } else {
      delete process.env.DATABASE_REPLICA_URLS;
    }
    const result = await runMode(mode);
    console.log(`RESULT ${JSON.stringify(result)}`);
  } finally {
    const { closePools } = await import("../src/server/db/pools");
    await closePools().catch(() => undefined);
    await envr.cleanup();
  }
}

function fmt(xs: number[]) {
  return `${percentile(xs, 50).toFixed(2).padStart(7)} ${percentile(xs, 99).toFixed(2).padStart(7)}`;
}

async function parent() {
  const primaryUrl = process.env.TEST_REPLICA_PRIMARY_URL;
  const replicaUrl = process.env.TEST_REPLICA_URL;
  if (!primaryUrl || !replicaUrl) throw new Error('no replica pair: eval "$(bash scripts/mysql-replica.sh start)" and export TEST_REPLICA_PRIMARY_URL TEST_REPLICA_URL');
  const conn = await mariadb.createConnection({ host: new URL(replicaUrl).hostname, port: Number(new URL(replicaUrl).port), user: decodeURIComponent(new URL(replicaUrl).username || "root"), password: decodeURIComponent(new URL(replicaUrl).password) });
  const [status] = await conn.query("SHOW SLAVE STATUS");
  await conn.end();
  if (status?.Slave_SQL_Running !== "Yes" || status?.Slave_IO_Running !== "Yes") throw new Error("the replica is not replicating");

  const results: ModeResult[] = [];
  for (const mode of ["primary", "replica"]) {
    const out = execFileSync(process.execPath, ["--import", "tsx", path.resolve(import.meta.dirname, "replica-reads.ts")], {
      // A short lag bound: a fresh Redis prefix's window of unknown positions is that long (db/causal.ts).
      env: { ...process.env, BENCH_MODE: mode, BENCH_DATABASE_URL: `${primaryUrl}/bench`, LOG_LEVEL: "warn", REPLICA_MAX_LAG_SECONDS: "5" },
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
      stdio: ["ignore", "pipe", "inherit"],
    });
    const line = out.split("\n").find((l) => l.startsWith("RESULT "));
    if (!line) throw new Error(`mode ${mode} printed no result:\n${out}`);
    results.push(JSON.parse(line.slice(7)) as ModeResult);
  }

  console.log(`\nfile.list, ${ENTRIES}-entry folder, pages of ${PAGE}; ${LISTS} idle lists, ${AFTER_WRITE} lists each right after a rename`);
  console.log(`MariaDB pair ${primaryUrl} → ${replicaUrl}; ${os.cpus().length} cores, load average ${os.loadavg().map((l) => l.toFixed(1)).join(" ")}`);
  console.log("reads on   idle p50/p99 ms   after own write p50/p99 ms   rename p50 ms   CPU ms per 1000 idle lists (primary / replica)");
  for (const r of results) {
    console.log(
      `${r.mode.padEnd(9)}  ${fmt(r.idle)}       ${fmt(r.afterWrite)}                ${percentile(r.write, 50).toFixed(2).padStart(7)}         ${r.cpuMs.primary.toFixed(0).padStart(6)} / ${r.cpuMs.replica.toFixed(0)}`,
    );
  }
  const [p, r] = results as [ModeResult, ModeResult];
  console.log(
    `\nreplica/primary idle p50 ${(percentile(r.idle, 50) / percentile(p.idle, 50)).toFixed(2)}x; causal read after a write costs ` +
      `${(percentile(r.afterWrite, 50) - percentile(p.afterWrite, 50)).toFixed(2)} ms p50 over the primary read`,
  );
  console.log(`where the replica run's reads went: ${JSON.stringify(r.routed)}`);
}

const mode = process.env.BENCH_MODE;
(mode ? child(mode) : parent()).then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
