import { DomainError } from "~/server/errors";
import { redis } from "~/server/redis/client";

/**
 * Counts one attempt in a fixed window; TOO_MANY_REQUESTS with details.retryAfter (seconds) past
 * the limit. Redis only holds what we can lose: if it is down the attempt is let through (proofs of
 * possession, not the throttle, are what keep content safe) and the failure is logged.
 */
export async function hitThrottle(key: string, limit: number, windowSeconds: number, what: string): Promise<void> {
  let count: number;
  let ttl: number;
  try {
    const results = await redis.multi().incr(key).expire(key, windowSeconds, "NX").ttl(key).exec();
    if (!results) return;
    count = Number(results[0]?.[1] ?? 0);
    ttl = Number(results[2]?.[1] ?? windowSeconds);
  } catch (e) {
    console.error(`[uploads] throttle ${key} unavailable, letting the request through: ${e instanceof Error ? e.message : e}`);
    return;
  }
  if (count > limit) {
    const retryAfter = ttl > 0 ? ttl : windowSeconds;
    throw new DomainError("TOO_MANY_REQUESTS", `Too many ${what}; try again in ${retryAfter} s`, { details: { retryAfter } });
  }
}
