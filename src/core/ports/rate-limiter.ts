// Counting requests per key (a client address, an end user) in a fixed window. The adapter decides
// where the counts live: in memory for one instance, in Redis when instances must share them.

export type RateRule = {
  /** Hits allowed per window. */
  points: number;
  windowSeconds: number;
};

export interface RateLimiter {
  /** Count one hit for `key`; false when the key has gone over its rule in this window. */
  consume(key: string): Promise<boolean>;
}

/** A limiter per named rule; the name keeps the counts of different rules apart. */
export type RateLimiterFactory = (name: string, rule: RateRule) => RateLimiter;
