import { Redis } from "ioredis";
import { env } from "~/env";

const globalForRedis = globalThis as unknown as { filestoreRedis?: Redis };

/**
 * The shared Redis connection. Every key goes under REDIS_PREFIX (ioredis keyPrefix), so several
 * drives or test runs can share one server. Redis only ever holds state we can lose: throttles,
 * caches, short-lived locks; anything durable lives in MariaDB.
 */
export const redis: Redis =
  globalForRedis.filestoreRedis ??
  new Redis(env.REDIS_URL, {
    keyPrefix: env.REDIS_PREFIX,
    lazyConnect: false,
    maxRetriesPerRequest: 2,
    enableOfflineQueue: true,
  });
if (env.NODE_ENV !== "production") globalForRedis.filestoreRedis = redis;
