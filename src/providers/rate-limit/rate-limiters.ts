// Rate limiters on rate-limiter-flexible: memory for one instance, Redis when REDIS_URL is set so every
// instance counts against the same window. When Redis fails, counting falls back to memory for the
// duration (the library's insurance limiter) rather than letting every request through or refusing all.
import { Redis } from "ioredis";
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from "rate-limiter-flexible";
import type { RateLimiter, RateLimiterFactory, RateRule } from "../../core/ports/rate-limiter.js";

function limiterOf(impl: RateLimiterAbstract): RateLimiter {
  return {
    async consume(key) {
      try {
        await impl.consume(key);
        return true;
      } catch (err) {
        if (err instanceof RateLimiterRes) return false;
        throw err;
      }
    },
  };
}

export async function createRateLimiters(redisUrl?: string): Promise<{ limiter: RateLimiterFactory; close(): Promise<void> }> {
  // The library's advice for Redis: no offline queue, so a down Redis fails fast into the insurance limiter.
  const client = redisUrl ? new Redis(redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: true }) : null;
  client?.on("error", () => {}); // reconnects on its own; the insurance limiter covers the gap
  // Connected before the first request, or every instance would count its first requests alone (without
  // an offline queue, commands sent while connecting fail into the insurance limiter). A Redis that is
  // down at start-up is no reason not to start: the insurance limiter counts until it is back.
  await client?.connect().catch(() => {});
  const limiter: RateLimiterFactory = (name: string, rule: RateRule) => {
    const options = { keyPrefix: `appgraph:rl:${name}`, points: rule.points, duration: rule.windowSeconds };
    const memory = new RateLimiterMemory(options);
    return limiterOf(client ? new RateLimiterRedis({ ...options, storeClient: client, insuranceLimiter: memory }) : memory);
  };
  return {
    limiter,
    async close() {
      client?.disconnect();
    },
  };
}
