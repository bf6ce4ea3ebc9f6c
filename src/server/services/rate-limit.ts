import { randomUUID } from "node:crypto";
import { env } from "~/env";
import { DomainError } from "~/server/errors";
import { logger } from "~/server/log";
import { metrics } from "~/server/metrics";
import { redis } from "~/server/redis/client";

// Per-user limits on calls that cost the drive far more than they cost the caller (docs/API.md,
// "Limits"): a token bucket in Redis per user and bucket, shared by every web instance.
//   search     file.list with `q` (a scan of the user's whole drive)         1 token a call
//   tree       file.copy / file.move, one token per entry touched (a copied folder counts every
//              entry inside it, so one huge copy spends what many small ones would)
//   purge      trash.purge                                                  1 token a call
//   downloads  download requests started (own files, signed URLs, share links) 1 token each
// Each bucket holds RATE_LIMIT_<NAME>_PER_MINUTE tokens and refills evenly over a minute; 0 turns it
// off. A call costing more than a full bucket is let through when the bucket is full (and empties
// it), so no operation is impossible, only spaced out. Refused: TOO_MANY_REQUESTS (429) with
// `Retry-After`, the seconds until enough tokens are back.
//
// Downloads also have a ceiling on how many the drive streams at once per user or address
// (DOWNLOADS_MAX_PARALLEL, a lease set in Redis, see acquireDownloadSlot).
//
// Redis only holds what we can lose: when it is down (or slower than 250 ms) the limits are not
// enforced (logged every 10 s), and the call goes ahead at once. Sign-in and sign-up throttles are separate (src/server/auth/throttle.ts).

export type LimitBucket = "search" | "tree" | "purge" | "downloads";

const log = logger("rate-limit");

function perMinute(bucket: LimitBucket): number {
  switch (bucket) {
    case "search":
      return env.RATE_LIMIT_SEARCH_PER_MINUTE;
    case "tree":
      return env.RATE_LIMIT_TREE_ENTRIES_PER_MINUTE;
    case "purge":
      return env.RATE_LIMIT_PURGE_PER_MINUTE;
    case "downloads":
      return env.RATE_LIMIT_DOWNLOADS_PER_MINUTE;
  }
}

// Takes `cost` tokens or says how long until it could. Redis's clock (TIME), so every instance
// agrees on it. Returns {1, 0} or {0, milliseconds to wait}.
const TAKE = `
local capacity = tonumber(ARGV[1])
local perMs = tonumber(ARGV[2])
local cost = math.min(tonumber(ARGV[3]), capacity)
local t = redis.call("TIME")
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call("HMGET", KEYS[1], "tokens", "at")
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * perMs)
local ok = 0
local wait = 0
if tokens >= cost then
  tokens = tokens - cost
  ok = 1
else
  wait = math.ceil((cost - tokens) / perMs)
end
redis.call("HSET", KEYS[1], "tokens", tostring(tokens), "at", now)
redis.call("PEXPIRE", KEYS[1], math.ceil(capacity / perMs) + 1000)
return {ok, wait}`;

/** Longest a limit may wait for Redis before the call goes ahead unlimited. */
const REDIS_BUDGET_MS = 250;
let lastWarning = 0;

function unavailable(e: unknown, what: string): void {
  // Once every 10 s, not once per request.
  if (Date.now() - lastWarning < 10_000) return;
  lastWarning = Date.now();
  log.warn({ err: e }, `${what} not enforced: Redis unavailable`);
}

/**
 * A Redis call for a limit: immediately "unavailable" while the connection is down (ioredis would
 * queue the command through its reconnect attempts, seconds per request), else bounded in time.
 */
async function limitCall<T>(fn: () => Promise<T>): Promise<T> {
  if (redis.status !== "ready") throw new Error(`Redis connection is ${redis.status}`);
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      fn(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${REDIS_BUDGET_MS} ms`)), REDIS_BUDGET_MS);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function tooMany(bucket: LimitBucket, waitMs: number, message: string): DomainError {
  metrics().rateLimited.inc({ bucket });
  const retryAfter = Math.max(1, Math.ceil(waitMs / 1000));
  return new DomainError("TOO_MANY_REQUESTS", `${message}; try again in ${retryAfter} s`, { details: { retryAfter, limit: bucket } });
}

const MESSAGES: Record<LimitBucket, string> = {
  search: "Too many searches",
  tree: "Too many entries copied or moved",
  purge: "Too many trash purges",
  downloads: "Too many downloads started",
};

/**
 * Takes `cost` tokens from `subject`'s bucket ("user:<id>" or "addr:<ip>"), or throws
 * TOO_MANY_REQUESTS with details.retryAfter.
 */
export async function takeTokens(bucket: LimitBucket, subject: string, cost = 1): Promise<void> {
  const capacity = perMinute(bucket);
  if (capacity <= 0 || cost <= 0) return;
  let result: [number, number];
  try {
    result = (await limitCall(() => redis.eval(TAKE, 1, `limit:${bucket}:${subject}`, capacity, capacity / 60_000, cost))) as [number, number];
  } catch (e) {
    unavailable(e, "rate limit");
    return;
  }
  if (Number(result[0]) !== 1) throw tooMany(bucket, Number(result[1]), MESSAGES[bucket]);
}

/** A download lease lives this long unless renewed; a process that dies frees its leases by then. */
const LEASE_MS = 60_000;
const RENEW_MS = 20_000;
/** What a refused parallel download is told to wait: one download of theirs has to end first. */
const PARALLEL_RETRY_MS = 5_000;

const ACQUIRE = `
local t = redis.call("TIME")
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call("ZREMRANGEBYSCORE", KEYS[1], "-inf", now)
if redis.call("ZCARD", KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call("ZADD", KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
redis.call("PEXPIRE", KEYS[1], tonumber(ARGV[2]))
return 1`;

const RENEW = `
local t = redis.call("TIME")
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call("ZADD", KEYS[1], "XX", now + tonumber(ARGV[1]), ARGV[2])
redis.call("PEXPIRE", KEYS[1], tonumber(ARGV[1]))
return 1`;

/**
 * One of `subject`'s DOWNLOADS_MAX_PARALLEL download slots, or TOO_MANY_REQUESTS. The returned
 * function gives it back (call it once the response ended, however it ended); until then the lease
 * is renewed, and a process that dies loses its leases within a minute.
 */
export async function acquireDownloadSlot(subject: string): Promise<() => void> {
  const max = env.DOWNLOADS_MAX_PARALLEL;
  const noop = () => {};
  if (max <= 0) return noop;
  const key = `limit:parallel-downloads:${subject}`;
  const lease = randomUUID();
  try {
    const got = await limitCall(() => redis.eval(ACQUIRE, 1, key, max, LEASE_MS, lease));
    if (Number(got) !== 1) throw tooMany("downloads", PARALLEL_RETRY_MS, `More than ${max} downloads at once`);
  } catch (e) {
    if (e instanceof DomainError) throw e;
    unavailable(e, "parallel download limit");
    return noop;
  }
  const timer = setInterval(() => {
    redis.eval(RENEW, 1, key, LEASE_MS, lease).catch((e: unknown) => log.warn({ err: e }, "download lease not renewed"));
  }, RENEW_MS);
  timer.unref();
  let released = false;
  return () => {
    if (released) return;
    released = true;
    clearInterval(timer);
    redis.zrem(key, lease).catch((e: unknown) => log.warn({ err: e }, "download lease not released (it expires by itself)"));
  };
}
