import { env } from "~/env";
import { DomainError } from "~/server/errors";
import { redis } from "~/server/redis/client";

// Sign-in and sign-up throttling: fixed-window counters in Redis (SIGNIN_WINDOW_SECONDS).
//
// Failed sign-ins count on three counters, each with its own limit:
// - username + client address, SIGNIN_MAX_FAILURES (5): a person mistyping, or one source guessing
//   at one account, stops here, and nobody else is affected;
// - client address, SIGNIN_MAX_FAILURES_PER_ADDRESS (100), all usernames together: one source
//   spraying guesses over many accounts. Much higher than the first, because an office or a
//   carrier NAT puts many people behind one address and their mistakes add up;
// - username, SIGNIN_MAX_FAILURES_PER_USER (50), all addresses together: guessing at one account
//   from many addresses. It does not apply from an address the account signed in from
//   successfully in the last 30 days ("known" addresses), so an attacker who trips it cannot lock
//   the owner out at home or at work (OWASP's device-cookie idea, keyed by address because scripts
//   carry no cookies).
// A throttled attempt is refused before the password is looked at. A successful sign-in clears its
// username + address counter only; a password reset also clears the username's counter.
//
// The address "unknown" (no custom server, no trusted proxy) is shared by every client, so there is
// no per-address counter for it, and it is never "known".
// If Redis is down the limits are not enforced (logged): argon2id still makes each guess slow, and
// sign-in stays available. Counters lost with Redis only restart their window.

const UNKNOWN_ADDRESS = "unknown";
const KNOWN_ADDRESS_DAYS = 30;
const KNOWN_ADDRESSES_KEPT = 20;

const norm = (username: string) => username.toLowerCase();

const keys = {
  pair: (username: string, address: string) => `auth:signin-fail:pair:${norm(username)}:${address}`,
  user: (username: string) => `auth:signin-fail:user:${norm(username)}`,
  address: (address: string) => `auth:signin-fail:addr:${address}`,
  known: (username: string) => `auth:signin-known:${norm(username)}`,
  signupAddress: (address: string) => `auth:signup:addr:${address}`,
};

export interface SigninAttempt {
  username: string;
  clientIp: string;
}

const addressOf = (attempt: SigninAttempt) => attempt.clientIp || UNKNOWN_ADDRESS;
const isKnowable = (address: string) => address !== UNKNOWN_ADDRESS;

export function tooManyRequests(retryAfterMs: number, message: string): DomainError {
  const retryAfter = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return new DomainError("TOO_MANY_REQUESTS", message, { details: { retryAfter } });
}

/**
 * Throws at once while the connection is not up: a command would otherwise wait in ioredis's
 * offline queue through reconnect attempts (seconds), and sign-in must stay fast without Redis.
 */
export function assertRedisReady(): void {
  if (redis.status !== "ready") throw new Error(`Redis connection is ${redis.status}`);
}

function warn(what: string, e: unknown) {
  console.warn(`[auth] throttle ${what} skipped, Redis unavailable:`, e instanceof Error ? e.message : e);
}

interface Counter {
  key: string;
  limit: number;
}

function counters(attempt: SigninAttempt): { pair: Counter; user: Counter; address: Counter | null } {
  const address = addressOf(attempt);
  return {
    pair: { key: keys.pair(attempt.username, address), limit: env.SIGNIN_MAX_FAILURES },
    user: { key: keys.user(attempt.username), limit: env.SIGNIN_MAX_FAILURES_PER_USER },
    address: isKnowable(address) ? { key: keys.address(address), limit: env.SIGNIN_MAX_FAILURES_PER_ADDRESS } : null,
  };
}

/** TOO_MANY_REQUESTS (details.retryAfter, seconds) while any counter that applies is at its limit. */
export async function assertSigninAllowed(attempt: SigninAttempt): Promise<void> {
  const address = addressOf(attempt);
  const c = counters(attempt);
  let waitMs = 0;
  try {
    assertRedisReady();
    const multi = redis.multi();
    const list = [c.pair, c.user, ...(c.address ? [c.address] : [])];
    for (const counter of list) multi.get(counter.key).pttl(counter.key);
    multi.zscore(keys.known(attempt.username), address);
    const results = (await multi.exec()) ?? [];
    for (const [err] of results) if (err) throw err;
    const knownSince = Number(results[2 * list.length]?.[1] ?? 0);
    const known = isKnowable(address) && knownSince > Date.now() - KNOWN_ADDRESS_DAYS * 86_400_000;
    list.forEach((counter, i) => {
      if (counter === c.user && known) return;
      const count = Number(results[2 * i]?.[1] ?? 0);
      if (count < counter.limit) return;
      const ttl = Number(results[2 * i + 1]?.[1]);
      // a counter without expiry (should not happen) blocks for a whole window
      waitMs = Math.max(waitMs, ttl > 0 ? ttl : env.SIGNIN_WINDOW_SECONDS * 1000);
    });
  } catch (e) {
    warn("check", e);
    return;
  }
  if (waitMs > 0) throw tooManyRequests(waitMs, "Too many failed sign-ins; try again later");
}

/** Counts one failed sign-in on every counter of the attempt. */
export async function recordSigninFailure(attempt: SigninAttempt): Promise<void> {
  const c = counters(attempt);
  try {
    assertRedisReady();
    const multi = redis.multi();
    for (const counter of [c.pair, c.user, c.address]) {
      if (counter) multi.incr(counter.key).expire(counter.key, env.SIGNIN_WINDOW_SECONDS, "NX");
    }
    await multi.exec();
  } catch (e) {
    warn("count", e);
  }
}

/** A successful sign-in: its username + address counter starts over, and the address is known. */
export async function recordSigninSuccess(attempt: SigninAttempt): Promise<void> {
  const address = addressOf(attempt);
  try {
    assertRedisReady();
    const multi = redis.multi().del(keys.pair(attempt.username, address));
    if (isKnowable(address)) {
      const key = keys.known(attempt.username);
      multi
        .zadd(key, Date.now(), address)
        .zremrangebyrank(key, 0, -(KNOWN_ADDRESSES_KEPT + 1))
        .expire(key, KNOWN_ADDRESS_DAYS * 86_400);
    }
    await multi.exec();
  } catch (e) {
    warn("clear", e);
  }
}

/**
 * After a password reset: the account's failures from everywhere, and from the address the reset
 * was made from, no longer count (the owner proved the mailbox and chose a new password).
 */
export async function clearUserFailures(username: string, clientIp: string): Promise<void> {
  try {
    assertRedisReady();
    await redis.del(keys.user(username), keys.pair(username, clientIp || UNKNOWN_ADDRESS));
  } catch (e) {
    warn("clear", e);
  }
}

/**
 * Counts one event in a fixed window (the window starts at the key's first event); TOO_MANY_REQUESTS
 * past `limit`. With Redis down the event is let through (logged), unless `failClosed`, for limits
 * that must hold (they answer SERVICE_UNAVAILABLE instead).
 */
export async function hitLimit(
  key: string,
  limit: number,
  windowSeconds: number,
  message: string,
  opts: { failClosed?: boolean } = {},
): Promise<void> {
  let count: number;
  let ttl: number;
  try {
    assertRedisReady();
    const results = (await redis.multi().incr(key).expire(key, windowSeconds, "NX").pttl(key).exec()) ?? [];
    for (const [err] of results) if (err) throw err;
    count = Number(results[0]?.[1] ?? 0);
    ttl = Number(results[2]?.[1] ?? windowSeconds * 1000);
  } catch (e) {
    if (opts.failClosed) throw new DomainError("SERVICE_UNAVAILABLE", "Try again in a moment", { cause: e });
    warn(key.split(":").slice(0, 2).join(":"), e);
    return;
  }
  if (count > limit) throw tooManyRequests(ttl > 0 ? ttl : windowSeconds * 1000, message);
}

/** Counts a sign-up attempt from the address; TOO_MANY_REQUESTS past SIGNUP_MAX_PER_ADDRESS. */
export async function assertSignupAllowed(clientIp: string): Promise<void> {
  if (!clientIp || clientIp === UNKNOWN_ADDRESS) return;
  await hitLimit(
    keys.signupAddress(clientIp),
    env.SIGNUP_MAX_PER_ADDRESS,
    env.SIGNUP_WINDOW_SECONDS,
    "Too many sign-ups from your address; try again later",
  );
}
