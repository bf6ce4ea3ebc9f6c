import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import mariadb from "mariadb";
import { migrate } from "../../src/server/db/migrate";
import { stopChildren } from "./servers";

// A throwaway drive for one benchmark run: its own database, Redis prefix and storage directory,
// set in process.env BEFORE any app module is imported (child servers inherit it). Import app
// modules dynamically after prepareBenchEnv().

export interface BenchEnv {
  storageDir: string;
  cleanup(): Promise<void>;
}

export async function prepareBenchEnv(label = "run"): Promise<BenchEnv> {
  const runId = `${label}_${Date.now().toString(36)}${randomBytes(3).toString("hex")}`;
  const base = new URL(process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? "mysql://root@127.0.0.1:3306/test");
  const database = `fs_bench_${runId}`;
  base.pathname = `/${database}`;
  await migrate(base.toString(), path.resolve(import.meta.dirname, "../../prisma/migrations"));
  const storageDir = await mkdtemp(path.join(process.env.BENCH_DIR ?? os.tmpdir(), `fs-bench-${runId}-`));
  Object.assign(process.env, {
    NODE_ENV: "test",
    DATABASE_URL: base.toString(),
    REDIS_PREFIX: `fs:bench:${runId}:`,
    STORAGE_DRIVER: "local",
    STORAGE_LOCAL_DIR: storageDir,
    DOWNLOAD_MODE: "proxy",
    AUTH_SECRET: randomBytes(32).toString("hex"),
    // Benchmarks measure throughput, not the per-user limits (services/rate-limit.ts).
    RATE_LIMIT_SEARCH_PER_MINUTE: "0",
    RATE_LIMIT_TREE_ENTRIES_PER_MINUTE: "0",
    RATE_LIMIT_PURGE_PER_MINUTE: "0",
    RATE_LIMIT_DOWNLOADS_PER_MINUTE: "0",
    DOWNLOADS_MAX_PARALLEL: "0",
  });
  return {
    storageDir,
    async cleanup() {
      // This process's own connections first (benchmarks that query the app in-process).
      const { db } = await import("../../src/server/db/client");
      const { redis } = await import("../../src/server/redis/client");
      await db.$disconnect().catch(() => undefined);
      redis.disconnect();
      await rm(storageDir, { recursive: true, force: true });
      const conn = await mariadb.createConnection({ host: base.hostname, port: Number(base.port || 3306), user: decodeURIComponent(base.username || "root"), password: decodeURIComponent(base.password) });
      await conn.query(`DROP DATABASE IF EXISTS \`${database}\``);
      await conn.end();
    },
  };
}

/** A user with a large quota and its bearer header (after prepareBenchEnv). */
export async function benchUser(): Promise<{ userId: string; auth: Record<string, string> }> {
  const { createUser } = await import("../../src/server/services/users");
  const { startSession } = await import("../../src/server/auth/sessions");
  const actor = await createUser({ username: `b_${randomBytes(6).toString("hex")}`, password: `pw-${randomBytes(12).toString("hex")}`, quotaBytes: 2 ** 42 });
  const session = await startSession(actor);
  return { userId: actor.userId, auth: { authorization: `Bearer ${session.accessToken}` } };
}

/**
 * Runs a benchmark in a throwaway drive (prepareBenchEnv): a failure is reported and exits 1, and the
 * child servers, database and storage are cleaned up either way.
 */
export async function runBench(body: () => Promise<void>): Promise<never> {
  // The client imports the app's modules too (benchUser), so its heap is the web process's size and
  // its reads of the upload file run into the same garbage-collection loop (src/server/heap-growth.ts).
  if (process.env.BENCH_DEFAULT_HEAP_GROWTH !== "1") (await import("../../src/server/heap-growth")).tuneHeapGrowth();
  const env = await prepareBenchEnv();
  try {
    await body();
  } catch (e) {
    console.error("benchmark failed:", e);
    process.exitCode = 1;
  } finally {
    await stopChildren();
    await env.cleanup();
  }
  process.exit(process.exitCode ?? 0);
}
