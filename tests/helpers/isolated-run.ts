import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll } from "vitest";
import { migrate } from "../../src/server/db/migrate";
import { deleteBrokerNames } from "./broker-names";
import { scratchDatabase } from "./scratch-db";

export { deleteBrokerNames };

// A test file of its own world: its own migrated database, RabbitMQ names, Redis prefix and storage
// directory, so the worker processes it starts (with their own TRANSFER_TARGET, retry delays...) never
// take jobs queued by other test files running at the same time on the run's shared database, and the
// other files' workers never take its jobs. Call it at the top of the file, before anything imports
// ~/env (import the code under test dynamically afterwards), like useCephS3. Removes everything in afterAll.

export interface IsolatedRun {
  /** The environment a worker process of this file needs (plus whatever the file sets itself). */
  env: Record<string, string>;
  databaseUrl: string;
  amqpPrefix: string;
  storageDir: string;
}

export async function useIsolatedRun(label: string, extra: Record<string, string> = {}): Promise<IsolatedRun> {
  const db = await scratchDatabase(label);
  await migrate(db.url, path.resolve(import.meta.dirname, "../../prisma/migrations"));
  const tag = randomBytes(4).toString("hex");
  const amqpPrefix = `${process.env.AMQP_PREFIX ?? "fs-t"}-${label}-${tag}`;
  const storageDir = await mkdtemp(path.join(os.tmpdir(), `fs-${label}-`));
  const env: Record<string, string> = {
    DATABASE_URL: db.url,
    AMQP_PREFIX: amqpPrefix,
    REDIS_PREFIX: `${process.env.REDIS_PREFIX ?? "fs:t:"}${label}-${tag}:`,
    STORAGE_LOCAL_DIR: storageDir,
    // MariaDB's connections are shared by every test run on the machine: small pools here and in workers.
    DATABASE_POOL_SIZE: "5",
    ...extra,
  };
  Object.assign(process.env, env);
  afterAll(async () => {
    if (process.env.FILESTORE_TEST_KEEP === "1") return;
    await db.drop();
    await rm(storageDir, { recursive: true, force: true });
    await deleteBrokerNames(process.env.AMQP_URL ?? "amqp://guest:guest@127.0.0.1:5672", amqpPrefix).catch(() => undefined);
  }, 60_000);
  return { env, databaseUrl: db.url, amqpPrefix, storageDir };
}

