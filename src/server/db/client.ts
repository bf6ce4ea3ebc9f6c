import { PrismaMariaDb } from "@prisma/adapter-mariadb";
import { readReplicas } from "@prisma/extension-read-replicas";
import { env } from "~/env";
import { PrismaClient } from "./generated/client";
import { createPool } from "./pools";

export interface ClientOptions {
  /** Milliseconds to open a connection / to wait for a free one (the driver's defaults: 1 s / 10 s). */
  connectTimeout?: number;
  acquireTimeout?: number;
}

function adapterFor(url: string, label: string, options: ClientOptions = {}) {
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
    ...(options.connectTimeout ? { connectTimeout: options.connectTimeout } : {}),
    ...(options.acquireTimeout ? { acquireTimeout: options.acquireTimeout } : {}),
  });
  return new PrismaMariaDb(pool, { disposeExternalPool: false });
}

export function createPrismaClient(url: string, label = "primary", options: ClientOptions = {}) {
  return new PrismaClient({ adapter: adapterFor(url, label, options) });
}

/** DATABASE_REPLICA_URLS as a list. */
export function replicaUrls(): string[] {
  return (env.DATABASE_REPLICA_URLS ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

/**
 * The primary client. The read-replica extension is applied with the primary as its only
 * "replica": an unrouted model read on `db` goes to the primary, and `$primary()` exists so code
 * says where it reads. Replica reads are not left to the extension's random pick: they go through
 * ./reads.ts, which knows which replica is up, how far behind it is, and waits there for the
 * reader's own last write (MASTER_GTID_WAIT) — none of which the extension can do.
 */
function createDb() {
  const primary = createPrismaClient(env.DATABASE_URL);
  return primary.$extends(readReplicas({ replicas: [primary] }));
}

export type Db = ReturnType<typeof createDb>;

/** The client an interactive `db.$transaction(async (tx) => ...)` hands out (the extension gives it its own type). */
export type Tx = Parameters<Extract<Parameters<Db["$transaction"]>[0], (...args: never[]) => unknown>>[0];

const globalForDb = globalThis as unknown as { filestoreDb?: Db };

/** The primary. Reads that may go to a replica go through `reads` (./reads.ts) instead. */
export const db: Db = globalForDb.filestoreDb ?? createDb();
if (env.NODE_ENV !== "production") globalForDb.filestoreDb = db;

export { Prisma } from "./generated/client";
export type { PrismaClient } from "./generated/client";
/** A client that only reads: a replica's or the primary's (what `reads` hands a read function). */
export type ReadClient = PrismaClient;
