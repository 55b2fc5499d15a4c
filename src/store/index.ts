/**
 * Picks the store: Redis when a URL is configured (several instances share replay and rate-limit state),
 * otherwise in-memory (one instance only).
 */
import type { Clock } from "../util/clock.ts";
import { createMemoryStore } from "./memory.ts";
import type { RedisStoreErrorEvent } from "./redis.ts";
import { createRedisStore } from "./redis.ts";
import type { Store } from "./types.ts";

export type { MemoryStoreOptions } from "./memory.ts";
export { createMemoryStore } from "./memory.ts";
export type { RedisStore, RedisStoreErrorEvent, RedisStoreOptions } from "./redis.ts";
export { createRedisStore, parseRedisUrl } from "./redis.ts";
export type { RateLimiter, RateLimitResult, ReplayStore, Store, StoreStatus } from "./types.ts";

export interface StoreOptions {
  /** Memory store only: epoch-ms clock. */
  clock?: Clock;
  /** Memory store only: bound on live entries per table. */
  maxEntries?: number;
  /** Redis only. */
  commandTimeoutMs?: number;
  keyPrefix?: string;
  onError?: (event: RedisStoreErrorEvent) => void;
}

/**
 * `redisUrl` undefined → memory. An empty string is a TypeError rather than a silent fall back to memory:
 * `REDIS_URL=` in a multi-instance deployment would otherwise turn off shared replay protection unnoticed.
 */
export function createStore(redisUrl: string | undefined, opts: StoreOptions = {}): Store {
  if (redisUrl === undefined) {
    return createMemoryStore({
      ...(opts.clock === undefined ? {} : { clock: opts.clock }),
      ...(opts.maxEntries === undefined ? {} : { maxEntries: opts.maxEntries }),
    });
  }
  if (redisUrl.trim() === "") throw new TypeError("store.redis: empty URL (omit it for the in-memory store)");
  return createRedisStore({
    url: redisUrl,
    ...(opts.commandTimeoutMs === undefined ? {} : { commandTimeoutMs: opts.commandTimeoutMs }),
    ...(opts.keyPrefix === undefined ? {} : { keyPrefix: opts.keyPrefix }),
    ...(opts.onError === undefined ? {} : { onError: opts.onError }),
  });
}
