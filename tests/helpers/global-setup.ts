import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import mariadb from "mariadb";
import { connect } from "amqplib";
import { Redis } from "ioredis";
import { migrate } from "../../src/server/db/migrate";

// Every test run gets its own database, Redis key prefix, RabbitMQ name prefix and storage
// directory, so runs (and developers) never see each other's rows, and nothing is left behind.
// Set FILESTORE_TEST_KEEP=1 to keep the database for inspection.

const runId = `${Date.now().toString(36)}${randomBytes(3).toString("hex")}`;
const baseUrl = process.env.TEST_DATABASE_URL ?? "mysql://root@127.0.0.1:3306/test";

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

let storageDir = "";

/** The run's retry delay queues (one per delay a test configured), as the local broker lists them. */
async function delayQueues(prefix: string): Promise<string[]> {
  try {
    const { stdout } = await promisify(execFile)("rabbitmqctl", ["list_queues", "-q", "--no-table-headers", "name"], { timeout: 30_000 });
    return stdout.split("\n").map((l) => l.trim()).filter((name) => name.startsWith(`${prefix}.jobs.delay.`));
  } catch {
    return []; // a remote broker: its delay queues stay (empty, and named by this run only)
  }
}

export async function setup() {
  const database = `fs_t_${runId}`;
  const databaseUrl = withDatabase(baseUrl, database);
  await migrate(databaseUrl, path.resolve(import.meta.dirname, "../../prisma/migrations"));
  storageDir = await mkdtemp(path.join(os.tmpdir(), `fs-test-${runId}-`));
  Object.assign(process.env, {
    NODE_ENV: "test",
    DATABASE_URL: databaseUrl,
    FILESTORE_TEST_DATABASE: database,
    REDIS_PREFIX: `fs:t:${runId}:`,
    AMQP_PREFIX: `fs-t-${runId}`,
    STORAGE_DRIVER: process.env.STORAGE_DRIVER ?? "local",
    STORAGE_LOCAL_DIR: storageDir,
    AUTH_SECRET: process.env.AUTH_SECRET ?? randomBytes(32).toString("hex"),
    NEXTAUTH_URL: process.env.NEXTAUTH_URL ?? "http://localhost:3000",
  });
}

export async function teardown() {
  if (process.env.FILESTORE_TEST_KEEP === "1") return;
  const u = new URL(baseUrl);
  const conn = await mariadb.createConnection({
    host: u.hostname,
    port: u.port ? Number(u.port) : 3306,
    user: decodeURIComponent(u.username || "root"),
    password: decodeURIComponent(u.password),
  });
  await conn.query(`DROP DATABASE IF EXISTS \`fs_t_${runId}\``);
  await conn.end();

  const redis = new Redis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379");
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `fs:t:${runId}:*`, "COUNT", 1000);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== "0");
  await redis.quit();

  const amqp = await connect(process.env.AMQP_URL ?? "amqp://guest:guest@127.0.0.1:5672");
  const ch = await amqp.createChannel();
  const prefix = `fs-t-${runId}`;
  for (const q of [`${prefix}.jobs`, `${prefix}.jobs.retry`, `${prefix}.jobs.dead`, ...(await delayQueues(prefix))]) await ch.deleteQueue(q);
  for (const x of [`${prefix}.work`, `${prefix}.retry`, `${prefix}.dead`]) await ch.deleteExchange(x);
  await amqp.close();

  await rm(storageDir, { recursive: true, force: true });
}
