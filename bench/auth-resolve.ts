/**
 * Benchmark: what checking revocation in MariaDB costs per request. Every bearer token and session
 * cookie is now resolved with one primary-key join (sign-in not revoked, user not disabled); before
 * issue 14 a bearer token cost one Redis EXISTS (which forgot revocations on a flush). Resolves
 * access tokens through resolveActor (HMAC check + the query) sequentially and 16 at a time, and
 * runs the old Redis EXISTS check the same way as the baseline, in the same process. Prints p50/p99
 * latency, rate, and CPU microseconds per check of this process and of the MariaDB / Redis servers
 * (read from /proc; both are shared machine-wide, so other work on them shows up too).
 *
 *   npx tsx bench/auth-resolve.ts
 *   BENCH_CHECKS=20000 npx tsx bench/auth-resolve.ts
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import os from "node:os";
import { percentile } from "./drive-env";
import { benchUser, prepareBenchEnv } from "./lib/env";

const CHECKS = Number(process.env.BENCH_CHECKS ?? 5000);
const CONCURRENCY = 16;
const TICKS = 100; // USER_HZ

/** The process listening on a TCP port (other MariaDB or Redis instances may run beside the shared ones). */
function pidListeningOn(port: number): number | null {
  try {
    const out = execFileSync("ss", ["-Hltnp", `sport = :${port}`]).toString();
    return Number(/pid=(\d+)/.exec(out)?.[1]) || null;
  } catch {
    return null;
  }
}

/** CPU seconds (user + system) a process has used so far. */
function cpuSeconds(pid: number | null): number {
  if (!pid) return NaN;
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / TICKS;
}

async function measure(label: string, check: (i: number) => Promise<unknown>, concurrency: number) {
  const servers = {
    mariadb: pidListeningOn(Number(new URL(process.env.DATABASE_URL!).port || 3306)),
    redis: pidListeningOn(Number(new URL(process.env.REDIS_URL ?? "redis://127.0.0.1:6379").port || 6379)),
  };
  const latencies: number[] = [];
  const before = { self: process.cpuUsage(), mariadb: cpuSeconds(servers.mariadb), redis: cpuSeconds(servers.redis) };
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < CHECKS) {
        const i = next++;
        const t = performance.now();
        await check(i);
        latencies.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const self = process.cpuUsage(before.self);
  latencies.sort((a, b) => a - b);
  const perCheck = (s: number) => (Number.isFinite(s) ? ((s * 1e6) / CHECKS).toFixed(0).padStart(8) : "       ?");
  console.log(
    `${label.padEnd(34)} ${String(concurrency).padStart(3)}  ${percentile(latencies, 50).toFixed(3).padStart(7)}  ${percentile(latencies, 99)
      .toFixed(3)
      .padStart(7)}  ${(CHECKS / seconds).toFixed(0).padStart(7)}  ${perCheck((self.user + self.system) / 1e6)}  ${perCheck(
      cpuSeconds(servers.mariadb) - before.mariadb,
    )}  ${perCheck(cpuSeconds(servers.redis) - before.redis)}`,
  );
}

async function main() {
  const envr = await prepareBenchEnv("auth");
  try {
    const { resolveActor } = await import("../src/server/auth/actor");
    const { redis } = await import("../src/server/redis/client");
    const tokens = await Promise.all(Array.from({ length: 50 }, () => benchUser()));
    const headers = tokens.map((t) => new Headers(t.auth));
    await redis.set("auth:revoked-family:bench-other", "1", "EX", 600);

    const viaDatabase = async (i: number) => {
      if (!(await resolveActor(headers[i % headers.length]!))) throw new Error("token refused");
    };
    // the check before issue 14: one EXISTS on a revoked-family marker
    const viaRedis = (i: number) => redis.exists(`auth:revoked-family:${i % headers.length}`);
    for (let i = 0; i < 500; i++) await Promise.all([viaDatabase(i), viaRedis(i)]); // warm-up

    console.log(`\n${CHECKS} checks each, load average ${os.loadavg().map((l) => l.toFixed(1)).join(" ")}`);
    console.log(`${"check".padEnd(34)} par   p50 ms   p99 ms   checks/s   µs CPU/check: self  mariadbd  redis`);
    for (const concurrency of [1, CONCURRENCY]) {
      await measure("resolveActor (HMAC + MariaDB join)", viaDatabase, concurrency);
      await measure("baseline: Redis EXISTS only", viaRedis, concurrency);
    }
  } finally {
    await envr.cleanup();
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error("benchmark failed:", e);
    process.exit(1);
  },
);
