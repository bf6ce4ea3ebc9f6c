import { randomUUID } from "node:crypto";
import { cleanupDoneJobs, recoverExpiredLeases, republishLost } from "~/server/jobs/maintenance";
import { relayOutbox } from "~/server/jobs/outbox";
import { redis } from "~/server/redis/client";
import { collectBlobs } from "~/server/services/blobs";
import { sweepThumbnails } from "~/server/services/previews/thumbnails";
import { purgeExpiredTrash } from "~/server/services/trash/purge-trash";
import { sweepExpiredUploads } from "~/server/services/uploads/sweep";
import { logger } from "~/server/log";

const log = logger("worker");

export interface PeriodicTask {
  name: string;
  everyMs: number;
  /** Runs on one worker at a time across the deployment (Redis lock), or on every worker. */
  exclusive: boolean;
  run: () => Promise<unknown>;
}

export const periodicTasks: PeriodicTask[] = [
  // Publishes pending outbox rows (needs the broker; while it is away the rows simply wait).
  { name: "outbox-relay", everyMs: 1_000, exclusive: false, run: () => relayOutbox() },
  // Jobs whose worker died (lease expired) go back to pending.
  { name: "outbox-recover", everyMs: 5_000, exclusive: false, run: () => recoverExpiredLeases() },
  // Published rows whose message the broker provably lost are published again.
  { name: "outbox-lost", everyMs: 60_000, exclusive: true, run: () => republishLost() },
  { name: "outbox-cleanup", everyMs: 10 * 60_000, exclusive: true, run: () => cleanupDoneJobs() },
  { name: "expire-uploads", everyMs: 60_000, exclusive: true, run: () => sweepExpiredUploads() },
  { name: "purge-trash", everyMs: 10 * 60_000, exclusive: true, run: () => purgeExpiredTrash() },
  { name: "collect-blobs", everyMs: 60_000, exclusive: true, run: () => collectBlobs() },
  { name: "sweep-thumbnails", everyMs: 10 * 60_000, exclusive: true, run: () => sweepThumbnails() },
];

const RELEASE_LOCK = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) else return 0 end`;

async function withLock(name: string, ttlMs: number, fn: () => Promise<unknown>): Promise<boolean> {
  const key = `lock:periodic:${name}`;
  const token = randomUUID();
  const got = await redis.set(key, token, "PX", ttlMs, "NX");
  if (got !== "OK") return false;
  try {
    await fn();
  } finally {
    await redis.eval(RELEASE_LOCK, 1, key, token);
  }
  return true;
}

/** Starts every task on its interval; the returned function stops them and waits for runs in flight. */
export function startPeriodic(tasks: PeriodicTask[] = periodicTasks): () => Promise<void> {
  const timers: NodeJS.Timeout[] = [];
  const running = new Set<Promise<void>>();
  let stopped = false;
  for (const task of tasks) {
    let busy = false;
    let lastError = "";
    let lastLoggedAt = 0;
    const tick = () => {
      if (busy || stopped) return;
      busy = true;
      const p = (async () => {
        try {
          if (task.exclusive) await withLock(task.name, Math.max(task.everyMs * 5, 60_000), task.run);
          else await task.run();
          if (lastError) log.info(`periodic ${task.name} works again`);
          lastError = "";
        } catch (e) {
          // An outage fails a task every second: say it once a minute, or when the reason changes.
          const message = e instanceof Error ? e.message : String(e);
          if (message !== lastError || Date.now() - lastLoggedAt > 60_000) {
            log.error(`periodic ${task.name} failed: ${message}`);
            lastLoggedAt = Date.now();
          }
          lastError = message;
        } finally {
          busy = false;
        }
      })();
      running.add(p);
      void p.finally(() => running.delete(p));
    };
    timers.push(setInterval(tick, task.everyMs));
    setImmediate(tick);
  }
  return async () => {
    stopped = true;
    for (const t of timers) clearInterval(t);
    await Promise.allSettled([...running]);
  };
}
