import { Redis } from "ioredis";
import { env } from "~/env";
import { logger } from "~/server/log";

const globalForRedis = globalThis as unknown as { filestoreRedis?: Redis };

/**
 * The shared Redis connection. Every key goes under REDIS_PREFIX (ioredis keyPrefix), so several
 * drives or test runs can share one server. Redis only ever holds state we can lose: throttles,
 * caches, short-lived locks; anything durable lives in MariaDB.
 */
function createRedis(): Redis {
  const client = new Redis(env.REDIS_URL, {
    keyPrefix: env.REDIS_PREFIX,
    lazyConnect: false,
    maxRetriesPerRequest: 2,
    enableOfflineQueue: true,
  });
  // Without a listener ioredis prints "Unhandled error event" with a stack for every failed
  // reconnect. Redis being away is a degradation the callers handle (each says what it skips); log
  // the connection's state once per change instead.
  const log = logger("redis");
  let down = false;
  client.on("error", (e: Error) => {
    if (down) return;
    down = true;
    log.warn(`Redis unavailable (${e.message}); reconnecting`);
  });
  client.on("ready", () => {
    if (!down) return;
    down = false;
    log.info("Redis connection back");
  });
  return client;
}

export const redis: Redis = globalForRedis.filestoreRedis ?? createRedis();
if (env.NODE_ENV !== "production") globalForRedis.filestoreRedis = redis;
