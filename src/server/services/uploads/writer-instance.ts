import { randomBytes } from "node:crypto";
import net from "node:net";
import mariadb, { type Connection } from "mariadb";
import { env } from "~/env";
import { log as rootLog } from "~/server/log";

// This process as a writer of upload bytes. On its first claim (claims.ts) the process picks a random
// instance id and takes the MariaDB user lock `filestore.writer.<id>` with GET_LOCK on a connection of
// its own, which it keeps open and idle for the rest of its life. MariaDB releases a user lock the
// moment its connection goes away, and a process killed with kill -9 loses its sockets at once
// (the kernel closes them), so "the lock of a claim's owner is free" means "its writer is dead",
// seconds before its heartbeat would go stale. Claims record the owner; a takeover checks
// IS_FREE_LOCK in the same UPDATE (claims.ts).
//
// Should this connection itself break while the process lives, its claims could be taken over:
// every claim of the old id is told at once (onWriterLost) and stops writing, and the next claim
// picks a new id. Without a lock (MariaDB refused the extra connection) claims carry no owner and
// fall back to the heartbeat alone.

const log = rootLog.child({ component: "upload-writer" });

const LOCK_PREFIX = "filestore.writer.";
/** After a failed attempt to take the lock, claims go without one for this long before the next try. */
const RETRY_MS = 5_000;

interface WriterState {
  id: string | null;
  conn: Connection | null;
  pending: Promise<string | null> | null;
  retryAt: number;
  lost: Set<(id: string) => void>;
}

// On globalThis: the custom server and Next's compiled route bundle are separate module copies in one process.
const holder = globalThis as unknown as { filestoreUploadWriter?: WriterState };
const state = (holder.filestoreUploadWriter ??= { id: null, conn: null, pending: null, retryAt: 0, lost: new Set() });

export function writerLockName(id: string): string {
  return LOCK_PREFIX + id;
}

/** This process's writer id, holding its lock; null when the lock cannot be had (claims then go by heartbeat). */
export function writerInstance(): Promise<string | null> {
  if (state.id) return Promise.resolve(state.id);
  if (Date.now() < state.retryAt) return Promise.resolve(null);
  state.pending ??= takeLock().finally(() => {
    state.pending = null;
  });
  return state.pending;
}

/** Calls `fn(id)` when the lock of writer `id` is lost while the process lives. Returns the unsubscribe. */
export function onWriterLost(fn: (id: string) => void): () => void {
  state.lost.add(fn);
  return () => state.lost.delete(fn);
}

async function takeLock(): Promise<string | null> {
  const id = randomBytes(12).toString("base64url");
  const u = new URL(env.DATABASE_URL);
  const host = u.hostname;
  const port = u.port ? Number(u.port) : 3306;
  let conn: Connection | null = null;
  try {
    conn = await mariadb.createConnection({
      host,
      port,
      user: decodeURIComponent(u.username || "root"),
      password: decodeURIComponent(u.password),
      database: u.pathname.replace(/^\//, ""),
      connectTimeout: 5_000,
      // An idle connection that must not keep the process alive (shutdown does not know about it).
      stream: () => {
        const socket = net.connect(port, host);
        socket.setKeepAlive(true, 10_000);
        socket.unref();
        return socket;
      },
    });
    // Lock-holding connections sit idle for hours: the server's wait_timeout must not end them.
    await conn.query("SET SESSION wait_timeout = 31536000");
    const rows = (await conn.query("SELECT GET_LOCK(?, 0) AS got", [writerLockName(id)])) as Array<{ got: unknown }>;
    if (Number(rows[0]?.got) !== 1) throw new Error("GET_LOCK did not grant the lock");
  } catch (e) {
    conn?.destroy();
    state.retryAt = Date.now() + RETRY_MS;
    log.warn({ err: e }, "no writer lock: chunk claims of this process are recovered by heartbeat only");
    return null;
  }
  const held = conn;
  const gone = (e?: unknown) => {
    if (state.conn !== held) return;
    state.id = null;
    state.conn = null;
    log.warn({ err: e, writer: id }, "the writer lock's connection closed: claims of this process stop");
    for (const fn of [...state.lost]) fn(id);
  };
  held.on("error", gone);
  held.on("end", () => gone());
  state.id = id;
  state.conn = held;
  return id;
}

/** Releases the lock (graceful shutdown, tests). Claims still open under it become takeable. */
export async function closeWriterInstance(): Promise<void> {
  const conn = state.conn;
  state.id = null;
  state.conn = null;
  await conn?.end().catch(() => conn.destroy());
}
