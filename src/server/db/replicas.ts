import { env } from "~/env";
import { logger } from "~/server/log";
import { createPrismaClient, db, replicaUrls, type ReadClient } from "./client";
import { formatGtid, gtidDistance, gtidReached, parseGtid, type GtidPosition } from "./gtid";

// The replicas of DATABASE_REPLICA_URLS and what is known about each: a circuit breaker fed by a
// probe every REPLICA_PROBE_INTERVAL_MS and by read errors.
//
//   starting → ok        first probe answered and the replica is within REPLICA_MAX_LAG_SECONDS
//   ok → lagging         the replica is further behind than that (skipped; probed again)
//   ok|lagging → down    a probe or a read failed (skipped; probed again)
//   down|lagging → ok    a later probe finds it answering and caught up: it is used again by itself
//
// Lag is measured from GTIDs, not only Seconds_Behind_Master (which is NULL while the SQL thread is
// stopped and 0 while the IO thread cannot reach the primary): each probe samples the primary's
// @@gtid_binlog_pos, and a replica's lag is the age of the oldest sample its @@gtid_slave_pos has not
// reached — how old the oldest write it is missing may be. `behindTransactions` is the GTID distance
// to the primary's newest position; Seconds_Behind_Master is reported beside both when readable.

const log = logger("replicas");

export type ReplicaState = "starting" | "ok" | "lagging" | "down";

export interface Replica {
  /** replica-1, replica-2, ... in DATABASE_REPLICA_URLS order. */
  name: string;
  /** host:port (no credentials), for /api/health. */
  address: string;
  client: ReadClient;
  state: ReplicaState;
  /** Why it is down or lagging. */
  reason: string | null;
  /** @@gtid_slave_pos at the last probe. */
  applied: GtidPosition | null;
  lagSeconds: number | null;
  behindTransactions: number | null;
  secondsBehindMaster: number | null;
  checkedAt: Date | null;
  /** When a causal wait on it last timed out: waits are not tried again until the next probe. */
  waitTimedOutAt: number;
}

interface Sample {
  at: number;
  pos: GtidPosition;
}

interface ReplicaSet {
  replicas: Replica[];
  /** The primary's @@gtid_binlog_pos over the last REPLICA_MAX_LAG_SECONDS and a bit. */
  samples: Sample[];
  primaryPos: GtidPosition | null;
  timer: NodeJS.Timeout | null;
  firstProbe: Promise<void> | null;
  next: number;
}

// On globalThis: the custom server and Next's route bundle are two copies of this module; one set
// of pools and one probe loop serve both.
const holder = globalThis as unknown as { filestoreReplicas?: ReplicaSet };

function addressOf(url: string): string {
  const u = new URL(url);
  return `${u.hostname}:${u.port || "3306"}`;
}

function set(): ReplicaSet {
  return (holder.filestoreReplicas ??= {
    replicas: replicaUrls().map((url, i) => ({
      name: `replica-${i + 1}`,
      address: addressOf(url),
      client: createPrismaClient(url, `replica-${i + 1}`, {
        connectTimeout: env.REPLICA_TIMEOUT_MS,
        acquireTimeout: env.REPLICA_TIMEOUT_MS,
      }),
      state: "starting",
      reason: null,
      applied: null,
      lagSeconds: null,
      behindTransactions: null,
      secondsBehindMaster: null,
      checkedAt: null,
      waitTimedOutAt: 0,
    })),
    samples: [],
    primaryPos: null,
    timer: null,
    firstProbe: null,
    next: 0,
  });
}

export function replicasConfigured(): boolean {
  return set().replicas.length > 0;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

function message(e: unknown): string {
  const text = (e instanceof Error ? e.message || e.name : String(e)) || "read failed";
  // Prisma wraps the driver's words: "Invalid `prisma.$queryRaw()` invocation: … Message: `pool timeout …`".
  const driver = /Message: `([^`]+)/.exec(text)?.[1] ?? text;
  return driver.replace(/\s+/g, " ").trim().slice(0, 200) || "read failed";
}

/** The primary's binlog position now (what a replica must reach to have everything committed so far). */
export async function primaryPosition(): Promise<GtidPosition> {
  const rows = await db.$primary().$queryRaw<Array<{ pos: string | null }>>`SELECT @@gtid_binlog_pos AS pos`;
  return parseGtid(rows[0]?.pos);
}

async function probeReplica(r: Replica, s: ReplicaSet, now: number): Promise<void> {
  const before = r.state;
  try {
    const rows = await withTimeout(
      r.client.$queryRaw<Array<{ pos: string | null }>>`SELECT @@gtid_slave_pos AS pos`,
      env.REPLICA_TIMEOUT_MS,
      r.name,
    );
    const applied = parseGtid(rows[0]?.pos);
    r.applied = applied;
    r.secondsBehindMaster = await slaveSecondsBehind(r);
    if (s.primaryPos) {
      r.behindTransactions = gtidDistance(applied, s.primaryPos);
      const missing = s.samples.find((sample) => !gtidReached(applied, sample.pos));
      r.lagSeconds = missing ? Math.max(0, (now - missing.at) / 1000) : 0;
    }
    const lag = r.lagSeconds ?? r.secondsBehindMaster;
    if (lag !== null && lag > env.REPLICA_MAX_LAG_SECONDS) {
      r.state = "lagging";
      r.reason = `${lag.toFixed(1)} s behind the primary (bound ${env.REPLICA_MAX_LAG_SECONDS} s)`;
    } else {
      r.state = "ok";
      r.reason = null;
    }
  } catch (e) {
    r.state = "down";
    r.reason = message(e);
  }
  r.checkedAt = new Date(now);
  r.waitTimedOutAt = 0;
  if (r.state !== before) log.info({ replica: r.name, from: before, to: r.state, reason: r.reason }, "replica state changed");
}

/** Seconds_Behind_Master from SHOW SLAVE STATUS; null when unknown (thread stopped, no privilege). */
async function slaveSecondsBehind(r: Replica): Promise<number | null> {
  try {
    const rows = await withTimeout(r.client.$queryRawUnsafe<Array<Record<string, unknown>>>("SHOW SLAVE STATUS"), env.REPLICA_TIMEOUT_MS, r.name);
    const v = rows[0]?.Seconds_Behind_Master;
    return v === null || v === undefined ? null : Number(v);
  } catch {
    return null;
  }
}

/** One probe of the primary's position and of every replica. */
export async function probeReplicas(): Promise<void> {
  const s = set();
  const now = Date.now();
  try {
    s.primaryPos = await withTimeout(primaryPosition(), env.REPLICA_TIMEOUT_MS, "primary");
    s.samples.push({ at: now, pos: s.primaryPos });
    const keepMs = env.REPLICA_MAX_LAG_SECONDS * 1000 + 3 * env.REPLICA_PROBE_INTERVAL_MS;
    // Only the first sample of each position matters (when that position was first seen); older
    // than the window they go, except the newest: a replica missing that is lagging by its age.
    const firsts = s.samples.filter((x, i, all) => i === 0 || formatGtid(all[i - 1]!.pos) !== formatGtid(x.pos));
    s.samples = firsts.filter((x, i) => i === firsts.length - 1 || now - x.at <= keepMs);
  } catch (e) {
    // Without the primary's position lag cannot be measured; reachability still is.
    s.primaryPos = null;
    log.warn({ err: message(e) }, "could not read the primary's GTID position");
  }
  await Promise.all(s.replicas.map((r) => probeReplica(r, s, now)));
}

/** Starts the probe loop (once per process); resolves after the first probe. */
export function startReplicaMonitor(): Promise<void> {
  const s = set();
  if (s.replicas.length === 0) return Promise.resolve();
  if (!s.firstProbe) {
    s.firstProbe = probeReplicas().catch(() => undefined);
    const loop = () => {
      s.timer = setTimeout(() => {
        probeReplicas()
          .catch((e: unknown) => log.warn({ err: message(e) }, "replica probe failed"))
          .finally(() => {
            if (s.timer) loop();
          });
      }, env.REPLICA_PROBE_INTERVAL_MS);
      s.timer.unref();
    };
    void s.firstProbe.then(loop);
  }
  return s.firstProbe;
}

/** Stops the probe loop (shutdown, tests). */
export function stopReplicaMonitor(): void {
  const s = holder.filestoreReplicas;
  if (!s) return;
  if (s.timer) clearTimeout(s.timer);
  s.timer = null;
  s.firstProbe = null;
}

/** The next replica in service (round robin), or null: no replica, or none ok. */
export async function pickReplica(): Promise<Replica | null> {
  const s = set();
  if (s.replicas.length === 0) return null;
  await startReplicaMonitor();
  for (let i = 0; i < s.replicas.length; i++) {
    const r = s.replicas[(s.next + i) % s.replicas.length]!;
    if (r.state === "ok") {
      s.next = (s.next + i + 1) % s.replicas.length;
      return r;
    }
  }
  return null;
}

/** A read on `r` failed: skip it until a probe finds it answering again. */
export function markDown(r: Replica, e: unknown): void {
  if (r.state === "down") return;
  log.warn({ replica: r.name, err: message(e) }, "replica read failed; skipping it until it answers a probe");
  r.state = "down";
  r.reason = message(e);
}

export interface ReplicaHealth {
  name: string;
  address: string;
  state: ReplicaState;
  reason: string | null;
  /** Age in seconds of the oldest write the replica is missing (GTID samples); null when unknown. */
  lagSeconds: number | null;
  /** Transactions behind the primary's position at the last probe (GTID distance). */
  behindTransactions: number | null;
  /** The replica's own Seconds_Behind_Master (null while its SQL thread is stopped). */
  secondsBehindMaster: number | null;
  appliedGtid: string | null;
  checkedAt: string | null;
}

/** Every replica's state and lag as of the last probe (for /api/health). */
export async function replicaHealth(): Promise<ReplicaHealth[]> {
  const s = set();
  if (s.replicas.length === 0) return [];
  await startReplicaMonitor();
  return s.replicas.map((r) => ({
    name: r.name,
    address: r.address,
    state: r.state,
    reason: r.reason,
    lagSeconds: r.lagSeconds === null ? null : Math.round(r.lagSeconds * 10) / 10,
    behindTransactions: r.behindTransactions,
    secondsBehindMaster: r.secondsBehindMaster,
    appliedGtid: r.applied ? formatGtid(r.applied) : null,
    checkedAt: r.checkedAt?.toISOString() ?? null,
  }));
}
