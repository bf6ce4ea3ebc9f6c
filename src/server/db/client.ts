import { PrismaMariaDb } from "@prisma/adapter-mariadb";
import { readReplicas } from "@prisma/extension-read-replicas";
import { env } from "~/env";
import { PrismaClient } from "./generated/client";
import { createPool } from "./pools";

function adapterFor(url: string, label: string) {
  const u = new URL(url);
  // The pool is ours (./pools.ts) so /api/metrics can report its use; we end it at shutdown.
  const pool = createPool(label, {
    host: u.hostname,
    port: u.port ? Number(u.port) : 3306,
    user: decodeURIComponent(u.username || "root"),
    password: decodeURIComponent(u.password),
    database: u.pathname.replace(/^\//, ""),
    connectionLimit: env.DATABASE_POOL_SIZE,
    // BIGINT columns come back as bigint; the services turn sizes into numbers at the edge.
    bigIntAsNumber: false,
    // Keep DATETIME(3) in UTC regardless of the server's time zone.
    timezone: "Z",
  });
  return new PrismaMariaDb(pool, { disposeExternalPool: false });
}

export function createPrismaClient(url: string, label = "primary") {
  return new PrismaClient({ adapter: adapterFor(url, label) });
}

function replicaUrls(): string[] {
  return (env.DATABASE_REPLICA_URLS ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

/**
 * The primary client, extended with the read-replica extension. Without replicas configured the
 * extension is still applied with the primary as its only "replica", so `$primary()` exists on
 * every deployment and code written for replicas runs unchanged.
 */
function createDb() {
  const primary = createPrismaClient(env.DATABASE_URL);
  const urls = replicaUrls();
  const replicas = urls.length > 0 ? urls.map((url, i) => createPrismaClient(url, `replica-${i + 1}`)) : [primary];
  return primary.$extends(readReplicas({ replicas }));
}

export type Db = ReturnType<typeof createDb>;

/** The client an interactive `db.$transaction(async (tx) => ...)` hands out (the extension gives it its own type). */
export type Tx = Parameters<Extract<Parameters<Db["$transaction"]>[0], (...args: never[]) => unknown>>[0];

const globalForDb = globalThis as unknown as { filestoreDb?: Db };

/** Reads go to a replica when configured; read-after-write must use `db.$primary()` or a transaction. */
export const db: Db = globalForDb.filestoreDb ?? createDb();
if (env.NODE_ENV !== "production") globalForDb.filestoreDb = db;

export { Prisma } from "./generated/client";
export type { PrismaClient } from "./generated/client";
