import type { ClusterOptions, RedisOptions } from "ioredis";
import { Cluster, Redis } from "ioredis";
import { defineStoreScripts, type StoreScripts } from "./scripts.ts";
import type { RedisTarget } from "./url.ts";

/** A connected client (standalone or Sentinel-managed master, or a Cluster) with the store's scripts defined. */
export type RedisClient = (Redis | Cluster) & StoreScripts;

/** Reconnect forever: 50 ms doubling to 2 s, with jitter so instances do not reconnect in lockstep. */
const backoff = (attempt: number): number =>
  Math.min(2000, 50 * 2 ** Math.min(attempt, 6)) + Math.floor(Math.random() * 100);

/**
 * The client. `commandTimeout` is ioredis's own per-command timer, here the hard backstop that frees a command a
 * server never answers; the per-operation deadline that decides 503 is lag-aware (see deadline.ts).
 */
export function connect(target: RedisTarget, commandTimeout: number): RedisClient {
  const common: RedisOptions & { replyMapping: "legacy" } = {
    replyMapping: "legacy",
    // Fail closed and fast: nothing waits for a connection, nothing is retried behind the caller's back.
    enableOfflineQueue: false,
    commandTimeout,
    maxRetriesPerRequest: 0,
    connectTimeout: 2000,
    enableReadyCheck: true,
    // RESP2: works with every server and proxy (RESP3 needs HELLO, Redis 6+).
    protocol: 2,
    // CLIENT SETINFO is Redis 7.2+; skip the extra round trips.
    disableClientInfo: true,
    ...(target.username === undefined ? {} : { username: target.username }),
    ...(target.password === undefined ? {} : { password: target.password }),
    ...(target.tls ? { tls: {} } : {}),
  };
  return defineStoreScripts(create(target, common));
}

function create(target: RedisTarget, common: RedisOptions & { replyMapping: "legacy" }): Redis | Cluster {
  switch (target.mode) {
    case "standalone":
      return new Redis({
        ...common,
        host: target.host,
        port: target.port,
        db: target.db,
        retryStrategy: backoff,
      });
    case "sentinel":
      return new Redis({
        ...common,
        sentinels: target.sentinels,
        name: target.name,
        role: "master",
        db: target.db,
        retryStrategy: backoff,
        sentinelRetryStrategy: backoff,
        sentinelCommandTimeout: 1000,
        // After a failover the old master turns replica; reconnect to ask the sentinels for the new one.
        reconnectOnError: (err) => err.message.startsWith("READONLY"),
        ...(target.sentinelUsername === undefined ? {} : { sentinelUsername: target.sentinelUsername }),
        ...(target.sentinelPassword === undefined ? {} : { sentinelPassword: target.sentinelPassword }),
        ...(target.tls ? { enableTLSForSentinelMode: true, sentinelTLS: {} } : {}),
      });
    case "cluster": {
      return new Cluster(target.nodes, {
        enableOfflineQueue: false,
        enableReadyCheck: true,
        clusterRetryStrategy: backoff,
        slotsRefreshTimeout: 1000,
        redisOptions: common,
        // TLS certificates name hosts, not the IPs the nodes announce (ElastiCache, MemoryDB).
        ...(target.tls ? { dnsLookup: (address, callback) => callback(null, address) } : {}),
      } satisfies ClusterOptions);
    }
  }
}
