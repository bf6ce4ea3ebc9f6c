import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import mariadb from "mariadb";

// A throwaway environment for the drive benchmarks: its own database (migrated), Redis prefix and
// local storage directory, removed again by cleanup(). Must run before anything imports ~/env, so
// the benchmarks import the app with dynamic import() after calling this.

const baseUrl = process.env.BENCH_DATABASE_URL ?? "mysql://root@127.0.0.1:3306/test";

export async function benchEnvironment(label: string) {
  const id = `${label}_${Date.now().toString(36)}${randomBytes(3).toString("hex")}`;
  const database = `fs_bench_${id}`;
  const u = new URL(baseUrl);
  u.pathname = `/${database}`;
  const storageDir = await mkdtemp(path.join(os.tmpdir(), `fs-bench-${label}-`));
  Object.assign(process.env, {
    NODE_ENV: "test",
    DATABASE_URL: u.toString(),
    REDIS_PREFIX: `fs:bench:${id}:`,
    STORAGE_DRIVER: "local",
    STORAGE_LOCAL_DIR: storageDir,
    DOWNLOAD_MODE: "proxy",
    AUTH_SECRET: randomBytes(32).toString("hex"),
  });
  const { migrate } = await import("../src/server/db/migrate");
  await migrate(u.toString(), path.resolve(import.meta.dirname, "../prisma/migrations"));
  return {
    storageDir,
    async cleanup() {
      const { db } = await import("../src/server/db/client");
      const { redis } = await import("../src/server/redis/client");
      await db.$disconnect().catch(() => undefined);
      redis.disconnect();
      const conn = await mariadb.createConnection({
        host: u.hostname,
        port: u.port ? Number(u.port) : 3306,
        user: decodeURIComponent(u.username || "root"),
        password: decodeURIComponent(u.password),
      });
      await conn.query(`DROP DATABASE IF EXISTS \`${database}\``);
      await conn.end();
      await rm(storageDir, { recursive: true, force: true });
    },
  };
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export const median = (xs: number[]) => percentile([...xs].sort((a, b) => a - b), 50);
