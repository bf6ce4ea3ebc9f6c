import { env } from "~/env";
import { DomainError } from "~/server/errors";
import { redis } from "~/server/redis/client";

// Sign-in and sign-up throttling: fixed-window counters in Redis.
// - Failed sign-ins are counted per username and per client address; once either reaches
//   SIGNIN_MAX_FAILURES inside SIGNIN_WINDOW_SECONDS, sign-ins for that username (or from that
//   address) answer TOO_MANY_REQUESTS until the window ends, before any password is checked. A
//   successful sign-in clears the username's counter (the address keeps its count: one address
//   guessing at many accounts stays throttled).
// - Sign-ups are counted per address, successful or not.
// The address "unknown" (no custom server in front, no trusted proxy) is shared by every client,
// so it is never throttled: one attacker would otherwise lock everybody out.
// If Redis is down the limits are not enforced (logged): argon2 still makes each guess slow, and
// sign-in stays available.

export const SIGNUP_MAX_PER_ADDRESS = 10;
export const SIGNUP_WINDOW_SECONDS = 3600;

const UNKNOWN_ADDRESS = "unknown";

const keys = {
  signinUser: (username: string) => `auth:signin-fail:user:${username.toLowerCase()}`,
  signinAddress: (address: string) => `auth:signin-fail:addr:${address}`,
  signupAddress: (address: string) => `auth:signup:addr:${address}`,
};

export interface SigninAttempt {
  username: string;
  clientIp: string;
}

function signinKeys({ username, clientIp }: SigninAttempt): string[] {
  const list = [keys.signinUser(username)];
  if (clientIp && clientIp !== UNKNOWN_ADDRESS) list.push(keys.signinAddress(clientIp));
  return list;
}

function tooMany(retryAfterMs: number, message: string): DomainError {
  const retryAfter = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return new DomainError("TOO_MANY_REQUESTS", message, { details: { retryAfter } });
}

function warn(what: string, e: unknown) {
  console.warn(`[auth] throttle ${what} skipped, Redis unavailable:`, e instanceof Error ? e.message : e);
}

/** Longest remaining window (ms) among counters at or over `limit`; 0 when none is. */
async function blockedFor(counterKeys: string[], limit: number, windowSeconds: number): Promise<number> {
  const multi = redis.multi();
  for (const key of counterKeys) multi.get(key).pttl(key);
  const results = (await multi.exec()) ?? [];
  let longest = 0;
  for (let i = 0; i < counterKeys.length; i++) {
    const [countErr, count] = results[2 * i] ?? [];
    const [ttlErr, ttl] = results[2 * i + 1] ?? [];
    if (countErr || ttlErr) throw countErr ?? ttlErr;
    if (Number(count ?? 0) < limit) continue;
    // a counter without expiry (should not happen) blocks for a whole window
    const remaining = typeof ttl === "number" && ttl > 0 ? ttl : windowSeconds * 1000;
    longest = Math.max(longest, remaining);
  }
  return longest;
}

/** Counts one event on each key; the window starts at a key's first event. Returns the counts. */
async function count(counterKeys: string[], windowSeconds: number): Promise<number[]> {
  const multi = redis.multi();
  for (const key of counterKeys) multi.incr(key).expire(key, windowSeconds, "NX");
  const results = (await multi.exec()) ?? [];
  return counterKeys.map((_, i) => {
    const [err, value] = results[2 * i] ?? [];
    if (err) throw err;
    return Number(value);
  });
}

/** TOO_MANY_REQUESTS (details.retryAfter, seconds) while the username or address is throttled. */
export async function assertSigninAllowed(attempt: SigninAttempt): Promise<void> {
  let waitMs: number;
  try {
    waitMs = await blockedFor(signinKeys(attempt), env.SIGNIN_MAX_FAILURES, env.SIGNIN_WINDOW_SECONDS);
  } catch (e) {
    warn("check", e);
    return;
  }
  if (waitMs > 0) throw tooMany(waitMs, "Too many failed sign-ins; try again later");
}

export async function recordSigninFailure(attempt: SigninAttempt): Promise<void> {
  try {
    await count(signinKeys(attempt), env.SIGNIN_WINDOW_SECONDS);
  } catch (e) {
    warn("count", e);
  }
}

export async function clearSigninFailures(username: string): Promise<void> {
  try {
    await redis.del(keys.signinUser(username));
  } catch (e) {
    warn("clear", e);
  }
}

/** Counts a sign-up attempt from the address; TOO_MANY_REQUESTS past SIGNUP_MAX_PER_ADDRESS. */
export async function assertSignupAllowed(clientIp: string): Promise<void> {
  if (!clientIp || clientIp === UNKNOWN_ADDRESS) return;
  const key = keys.signupAddress(clientIp);
  let waitMs = 0;
  try {
    const [n] = await count([key], SIGNUP_WINDOW_SECONDS);
    if ((n ?? 0) > SIGNUP_MAX_PER_ADDRESS) {
      const ttl = await redis.pttl(key);
      waitMs = ttl > 0 ? ttl : SIGNUP_WINDOW_SECONDS * 1000;
    }
  } catch (e) {
    warn("sign-up", e);
    return;
  }
  if (waitMs > 0) throw tooMany(waitMs, "Too many sign-ups from your address; try again later");
}
