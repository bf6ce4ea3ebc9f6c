import { AsyncLocalStorage } from "node:async_hooks";
import { env } from "~/env";
import { logger } from "~/server/log";
import { redis } from "~/server/redis/client";
import { gtidMax, parseGtid, type GtidPosition } from "./gtid";
import { primaryPosition, replicasConfigured } from "./replicas";

// Read-your-writes across requests and web instances: after a user's write commits, the primary's
// @@gtid_binlog_pos (which includes that write) is kept in Redis under the user, domain by domain,
// never moving backwards (two instances may record out of order). A replica read for that user
// first waits for the position there (reads.ts). Other users' positions do not matter to them:
// they may read a replica that is behind by up to its measured lag.
//
// Redis trouble never fails a request and never risks a stale read: a position that cannot be read
// is "unknown", and unknown reads go to the primary. Positions Redis may have lost are unknown for
// the "window" — REPLICA_MAX_LAG_SECONDS plus two probes — after which every replica still in
// service has any write made before (replicas.ts skips ones further behind):
// - after any Redis error on this instance (a write whose position could not be stored leaves
//   Redis behind that user's truth);
// - after Redis lost its data (a restart without persistence, a flush), on every instance: the key
//   `gtid:epoch` holds when this Redis started keeping positions; while it is missing or younger
//   than the window, positions are unknown.
// This instance's own recent positions are also kept in memory and merged with what Redis says.

const log = logger("causal-reads");

const key = (userId: string) => `gtid:user:${userId}`;
const EPOCH = "gtid:epoch";
const REDIS_TIMEOUT_MS = 250;

// Redis's own clock, in ms: every instance agrees on it, and a command replayed from the client's
// offline queue after a Redis restart still stamps the time it really ran.
const NOW = `local t = redis.call("TIME")
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

// KEYS: the user's positions, the epoch. ARGV: ttl, then (domain, server, seq) triples. Keeps the
// larger seq per domain.
const RECORD = `
${NOW}
redis.call("SET", KEYS[2], now, "NX")
for i = 2, #ARGV, 3 do
  local cur = redis.call("HGET", KEYS[1], ARGV[i])
  local seq = tonumber(ARGV[i + 2])
  if not cur or tonumber(string.match(cur, "-(%d+)$")) < seq then
    redis.call("HSET", KEYS[1], ARGV[i], ARGV[i + 1] .. "-" .. ARGV[i + 2])
  end
end
redis.call("EXPIRE", KEYS[1], ARGV[1])
return 1`;

// Reading: the user's positions, and how long ago (in Redis's clock) the epoch began; a missing
// epoch is started now.
const READ = `
${NOW}
redis.call("SET", KEYS[2], now, "NX")
return { redis.call("HGETALL", KEYS[1]), now - tonumber(redis.call("GET", KEYS[2])) }`;

/** Positions are kept this long: far longer than any replica in service may lag. */
function ttlSeconds(): number {
  return Math.max(600, Math.ceil(env.REPLICA_MAX_LAG_SECONDS * 4));
}

function windowMs(): number {
  return env.REPLICA_MAX_LAG_SECONDS * 1000 + 2 * env.REPLICA_PROBE_INTERVAL_MS;
}

const memory = new Map<string, { pos: GtidPosition; until: number }>();
let unknownUntil = 0;

function redisTrouble(e: unknown, what: string): void {
  const now = Date.now();
  if (unknownUntil < now) log.warn({ err: e instanceof Error ? e.message : String(e) }, `Redis ${what} failed: reads go to the primary for a while`);
  unknownUntil = now + windowMs();
}

function timed<T>(p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${REDIS_TIMEOUT_MS} ms`)), REDIS_TIMEOUT_MS);
    }),
  ]).finally(() => clearTimeout(timer));
}

// The user whose position a surrounding call (a signed-in tRPC mutation) records once it is over;
// on globalThis, as the custom server and Next's route bundle are separate module copies.
const shared = globalThis as unknown as { filestoreWritesNotedBy?: AsyncLocalStorage<string> };
const notedAtEnd = (shared.filestoreWritesNotedBy ??= new AsyncLocalStorage<string>());

/**
 * Runs `fn`, a call that may write for `userId`, then records that user's position once (whether
 * `fn` succeeded or not: a failed call may have committed part of its work). noteWrite(userId)
 * inside it is left to this final record, so a mutation that commits several times asks the primary
 * and Redis once.
 */
export async function notingWrites<T>(userId: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await notedAtEnd.run(userId, fn);
  } finally {
    await noteWrite(userId);
  }
}

/**
 * Records that `userId` just wrote: call after the write committed. Never throws. A no-op without
 * replicas, and inside notingWrites for the same user (which records at its end).
 */
export async function noteWrite(userId: string): Promise<void> {
  if (!replicasConfigured()) return;
  if (notedAtEnd.getStore() === userId) return;
  let pos: GtidPosition;
  try {
    pos = await primaryPosition();
  } catch (e) {
    // The write committed but its position is unknown: nobody's position can be trusted for a while.
    redisTrouble(e, "(primary position) record");
    return;
  }
  if (pos.size === 0) return;
  const now = Date.now();
  const had = memory.get(userId);
  memory.set(userId, { pos: had && had.until > now ? gtidMax(had.pos, pos) : pos, until: now + ttlSeconds() * 1000 });
  if (memory.size > 10_000) for (const [id, v] of memory) if (v.until <= now) memory.delete(id);
  const args: Array<string | number> = [ttlSeconds()];
  for (const [domain, { server, seq }] of pos) args.push(domain, server, seq.toString());
  try {
    await timed(redis.eval(RECORD, 2, key(userId), EPOCH, ...args));
  } catch (e) {
    redisTrouble(e, "record");
  }
}

let epochKickedAt = 0;

/**
 * While positions are unknown anyway, reads do not wait on Redis; but a restarted Redis should start
 * its epoch (and so end the window) as soon as it answers: at most once a second, in the background.
 */
function startEpochSoon(): void {
  const now = Date.now();
  if (now - epochKickedAt < 1000) return;
  epochKickedAt = now;
  timed(redis.eval(READ, 2, key("-"), EPOCH)).catch(() => undefined);
}

/**
 * The position `userId`'s reads must see: empty when the user wrote nothing recently; null when it
 * cannot be known (Redis away) — read from the primary then.
 */
export async function positionFor(userId: string): Promise<GtidPosition | null> {
  if (Date.now() < unknownUntil) {
    startEpochSoon();
    return null;
  }
  const stored: Record<string, string> = {};
  try {
    const [flat, epochAge] = (await timed(redis.eval(READ, 2, key(userId), EPOCH))) as [string[], number];
    // Redis is new, restarted or flushed, or was so less than a window ago: positions it lost are unknown.
    if (epochAge < windowMs()) return null;
    for (let i = 0; i + 1 < flat.length; i += 2) stored[flat[i]!] = flat[i + 1]!;
  } catch (e) {
    redisTrouble(e, "read");
    return null;
  }
  let pos: GtidPosition = new Map();
  try {
    pos = parseGtid(Object.entries(stored).map(([domain, serverSeq]) => `${domain}-${serverSeq}`).join(","));
  } catch (e) {
    log.warn({ userId, err: e instanceof Error ? e.message : String(e) }, "unreadable GTID position in Redis; reading from the primary");
    return null;
  }
  const mine = memory.get(userId);
  return mine && mine.until > Date.now() ? gtidMax(pos, mine.pos) : pos;
}
