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
// is "unknown", and unknown reads go to the primary. A write whose position could not be stored
// leaves Redis behind that user's truth, so after any Redis error this instance treats every
// position as unknown until REPLICA_MAX_LAG_SECONDS (plus a probe) have passed — by then every
// replica still in service has the write (replicas.ts skips ones further behind). This instance's
// own recent positions are also kept in memory and merged with what Redis says.

const log = logger("causal-reads");

const key = (userId: string) => `gtid:user:${userId}`;
const REDIS_TIMEOUT_MS = 250;

// ARGV: ttl, then (domain, server, seq) triples. Keeps the larger seq per domain.
const RECORD = `
for i = 2, #ARGV, 3 do
  local cur = redis.call("HGET", KEYS[1], ARGV[i])
  local seq = tonumber(ARGV[i + 2])
  if not cur or tonumber(string.match(cur, "-(%d+)$")) < seq then
    redis.call("HSET", KEYS[1], ARGV[i], ARGV[i + 1] .. "-" .. ARGV[i + 2])
  end
end
redis.call("EXPIRE", KEYS[1], ARGV[1])
return 1`;

/** Positions are kept this long: far longer than any replica in service may lag. */
function ttlSeconds(): number {
  return Math.max(600, Math.ceil(env.REPLICA_MAX_LAG_SECONDS * 4));
}

const memory = new Map<string, { pos: GtidPosition; until: number }>();
let unknownUntil = 0;

function redisTrouble(e: unknown, what: string): void {
  const now = Date.now();
  if (unknownUntil < now) log.warn({ err: e instanceof Error ? e.message : String(e) }, `Redis ${what} failed: reads go to the primary for a while`);
  unknownUntil = now + env.REPLICA_MAX_LAG_SECONDS * 1000 + 2 * env.REPLICA_PROBE_INTERVAL_MS;
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

/**
 * Records that `userId` just wrote: call after the write committed. Never throws. A no-op without
 * replicas.
 */
export async function noteWrite(userId: string): Promise<void> {
  if (!replicasConfigured()) return;
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
    await timed(redis.eval(RECORD, 1, key(userId), ...args));
  } catch (e) {
    redisTrouble(e, "record");
  }
}

/**
 * The position `userId`'s reads must see: empty when the user wrote nothing recently; null when it
 * cannot be known (Redis away) — read from the primary then.
 */
export async function positionFor(userId: string): Promise<GtidPosition | null> {
  if (Date.now() < unknownUntil) return null;
  let stored: Record<string, string>;
  try {
    stored = await timed(redis.hgetall(key(userId)));
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
