/**
 * Redis store, shared by every broker instance: replay set (SET NX EXAT) and a GCRA rate limiter (one Lua
 * script, one round trip, server clock). Fails closed and fast: no offline queue, a short command timeout, no
 * retries per request; every error becomes BrokerError("unavailable") with Retry-After 1 while the client
 * reconnects with backoff, forever, in the background.
 *
 * URLs (credentials percent-encoded; `rediss…` = TLS):
 *   redis://[[user]:password@]host[:6379][/db]
 *   redis+sentinel://[[user]:password@]host[:26379][,host[:26379]…]/masterName[/db][?sentinelUsername=…&sentinelPassword=…]
 *   redis+cluster://[[user]:password@]host[:6379][,host[:6379]…]
 * The user/password authenticate to the data nodes (the master, the cluster nodes); sentinels take their own
 * from the query, none by default. Nothing of the URL but hosts, ports, db and master name is ever shown.
 *
 * Keys: `<keyPrefix>replay:<sha256(key)>` and `<keyPrefix>rl:<sha256(key)>`, so whatever a caller's key holds
 * (a subject, an issuer, a jti chosen by a token's issuer) cannot shape the Redis key space, and each
 * command touches one key (Cluster-safe, no hash tags needed).
 */
import { createHash } from "node:crypto";
import type { ClusterOptions, RedisOptions } from "ioredis";
import { Cluster, Redis } from "ioredis";
import { BrokerError } from "../errors.ts";
import { checkExpiresAt, checkLimit, retryAfterSeconds, windowMicros } from "./memory.ts";
import type { RateLimiter, RateLimitResult, ReplayStore, Store, StoreStatus } from "./types.ts";

export interface RedisStoreOptions {
  url: string;
  /** Per-command timeout, ms. Default 50; each operation as a whole is bounded by 4× this. */
  commandTimeoutMs?: number;
  /** Prepended to every key, e.g. `wif-broker:prod:`. Default `wif-broker:`. */
  keyPrefix?: string;
  /** Connection and command failures, for logs and metrics; the message never holds a credential. */
  onError?: (event: RedisStoreErrorEvent) => void;
}

export interface RedisStoreErrorEvent {
  op: "connection" | "seen" | "consume" | "hit";
  message: string;
}

export interface RedisStore extends Store {
  /** Resolves once connected (or at once if already); rejects after `timeoutMs`. Startup may skip it. */
  ready(timeoutMs?: number): Promise<void>;
}

interface HostPort {
  host: string;
  port: number;
}

interface Credentials {
  username?: string;
  password?: string;
}

export type RedisTarget = Credentials & { tls: boolean } & (
    | { mode: "standalone"; host: string; port: number; db: number }
    | {
        mode: "sentinel";
        sentinels: HostPort[];
        name: string;
        db: number;
        sentinelUsername?: string;
        sentinelPassword?: string;
      }
    | { mode: "cluster"; nodes: HostPort[] }
  );

const SCHEMES: Record<string, { mode: RedisTarget["mode"]; tls: boolean; port: number }> = {
  redis: { mode: "standalone", tls: false, port: 6379 },
  rediss: { mode: "standalone", tls: true, port: 6379 },
  "redis+sentinel": { mode: "sentinel", tls: false, port: 26379 },
  "rediss+sentinel": { mode: "sentinel", tls: true, port: 26379 },
  "redis+cluster": { mode: "cluster", tls: false, port: 6379 },
  "rediss+cluster": { mode: "cluster", tls: true, port: 6379 },
};

/** Parses a store URL. Errors are TypeErrors that name the problem, never the URL (it may hold a password). */
export function parseRedisUrl(url: string): RedisTarget {
  const m = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)([^?#]*)(?:\?([^#]*))?(#.*)?$/i.exec(url);
  if (m === null) throw new TypeError("store.redis: not a URL (expected redis://host:port/db)");
  const [, rawScheme = "", authority = "", path = "", query = "", fragment] = m;
  const scheme = SCHEMES[rawScheme.toLowerCase()];
  if (scheme === undefined) {
    throw new TypeError(
      `store.redis: unsupported scheme (expected one of ${Object.keys(SCHEMES)
        .map((s) => `${s}://`)
        .join(", ")})`,
    );
  }
  if (fragment !== undefined) throw new TypeError("store.redis: '#' must be percent-encoded (%23)");
  const at = authority.lastIndexOf("@");
  const creds = at === -1 ? {} : parseUserinfo(authority.slice(0, at));
  const hosts = authority
    .slice(at + 1)
    .split(",")
    .map((h) => parseHostPort(h, scheme.port));
  const params = new URLSearchParams(query);
  const segments = path.split("/").slice(1);
  const base = { ...creds, tls: scheme.tls };
  switch (scheme.mode) {
    case "standalone": {
      onlyParams(params, []);
      const [host] = hosts;
      if (host === undefined || hosts.length !== 1) {
        throw new TypeError(
          "store.redis: one host expected (use redis+sentinel:// or redis+cluster:// for more)",
        );
      }
      if (segments.length > 1) throw new TypeError("store.redis: path must be /db");
      return { ...base, mode: "standalone", ...host, db: parseDb(segments[0]) };
    }
    case "sentinel": {
      onlyParams(params, ["sentinelUsername", "sentinelPassword"]);
      const [name, db, ...rest] = segments.map(decode);
      if (name === undefined || name === "" || rest.length > 0) {
        throw new TypeError("store.redis: sentinel URL path must be /masterName or /masterName/db");
      }
      const sentinelUsername = params.get("sentinelUsername");
      const sentinelPassword = params.get("sentinelPassword");
      return {
        ...base,
        mode: "sentinel",
        sentinels: hosts,
        name,
        db: parseDb(db),
        ...(sentinelUsername === null ? {} : { sentinelUsername }),
        ...(sentinelPassword === null ? {} : { sentinelPassword }),
      };
    }
    case "cluster": {
      onlyParams(params, []);
      if (parseDb(segments.length > 1 ? "x" : segments[0]) !== 0) {
        throw new TypeError("store.redis: Redis Cluster has only db 0");
      }
      return { ...base, mode: "cluster", nodes: hosts };
    }
  }
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new TypeError("store.redis: malformed percent-encoding");
  }
}

function parseUserinfo(userinfo: string): Credentials {
  const colon = userinfo.indexOf(":");
  const username = decode(colon === -1 ? userinfo : userinfo.slice(0, colon));
  const password = colon === -1 ? "" : decode(userinfo.slice(colon + 1));
  return { ...(username === "" ? {} : { username }), ...(password === "" ? {} : { password }) };
}

function parseHostPort(s: string, defaultPort: number): HostPort {
  const m = /^(\[[0-9a-f:.]+\]|[^[\]:]+)(?::(\d{1,5}))?$/i.exec(s);
  const port = m?.[2] === undefined ? defaultPort : Number(m[2]);
  if (m?.[1] === undefined || port < 1 || port > 65535) {
    throw new TypeError("store.redis: each host must be host[:port] or [ipv6][:port]");
  }
  const host = m[1].startsWith("[") ? m[1].slice(1, -1) : decode(m[1]);
  return { host, port };
}

function parseDb(segment: string | undefined): number {
  if (segment === undefined || segment === "") return 0;
  if (!/^\d{1,5}$/.test(segment)) throw new TypeError("store.redis: db must be a number");
  return Number(segment);
}

function onlyParams(params: URLSearchParams, allowed: string[]): void {
  for (const name of params.keys()) {
    if (!allowed.includes(name)) {
      throw new TypeError(
        `store.redis: unknown query parameter${allowed.length ? ` (allowed: ${allowed.join(", ")})` : ""}`,
      );
    }
  }
}

/**
 * GCRA, as `gcra()` in memory.ts (keep in step): integer microseconds, state = the theoretical arrival time,
 * the clock is the server's (shared by every instance, immune to skew between broker hosts). The key lives
 * until the bucket is full again. Returns {1, 0} when allowed, {0, µs until allowed} when refused.
 */
const GCRA_LUA = `
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = math.max(1, math.floor(window / limit))
local tat = tonumber(redis.call('GET', KEYS[1]))
if tat == nil or tat < now then tat = now end
local newTat = tat + interval
local allowAt = newTat - window
if allowAt > now then
  return {0, allowAt - now}
end
redis.call('SET', KEYS[1], string.format('%.0f', newTat), 'PX', math.ceil((newTat - now) / 1000))
return {1, 0}
`;
const GCRA_SHA = createHash("sha1").update(GCRA_LUA).digest("hex");

type Client = Redis | Cluster;

/** Reconnect forever: 50 ms doubling to 2 s, with jitter so instances do not reconnect in lockstep. */
const backoff = (attempt: number): number =>
  Math.min(2000, 50 * 2 ** Math.min(attempt, 6)) + Math.floor(Math.random() * 100);

/** Redis refuses expiry times past this (and `exp: 1e308` is a valid NumericDate): 9999-12-31T23:59:59Z. */
const MAX_EXAT = 253_402_300_799;

export function createRedisStore(opts: RedisStoreOptions): RedisStore {
  const target = parseRedisUrl(opts.url);
  const commandTimeout = opts.commandTimeoutMs ?? 50;
  if (!Number.isFinite(commandTimeout) || commandTimeout <= 0) {
    throw new TypeError("store.redis: commandTimeoutMs must be a positive number");
  }
  const prefix = opts.keyPrefix ?? "wif-broker:";
  const secrets = [
    opts.url,
    target.password,
    target.mode === "sentinel" ? target.sentinelPassword : undefined,
  ]
    .filter((s): s is string => s !== undefined && s !== "")
    .flatMap((s) => [s, encodeURIComponent(s)]);
  const scrub = (message: string): string =>
    secrets.reduce((m, s) => m.split(s).join("***"), message).slice(0, 300);
  const where = describe(target);

  const client = connect(target, commandTimeout);
  /** Last connection-level error, until the next `ready`. */
  let connError: string | undefined;
  /** Set while the latest operation failed (a timeout on a live connection shows only here). */
  let opError: string | undefined;
  let closed = false;

  const onConnectionError = (err: unknown): void => {
    connError = scrub(messageOf(err));
    opts.onError?.({ op: "connection", message: connError });
  };
  client.on("error", onConnectionError);
  // Cluster: one node failing is reported apart from the cluster as a whole.
  client.on("node error", onConnectionError);
  client.on("ready", () => {
    connError = undefined;
    opError = undefined;
  });

  const opDeadline = Math.max(100, commandTimeout * 4);
  async function run<T>(op: RedisStoreErrorEvent["op"], fn: () => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error("operation timed out")), opDeadline);
      });
      const result = await Promise.race([fn(), deadline]);
      opError = undefined;
      connError = undefined;
      return result;
    } catch (err) {
      // A fresh Error: ioredis errors carry the command and its arguments (AUTH's are a password).
      const message = scrub(messageOf(err));
      opError = message;
      opts.onError?.({ op, message });
      throw new BrokerError("unavailable", {
        reason: "store.unavailable",
        detail: `redis ${op} failed`,
        retryAfter: 1,
        cause: new Error(message),
      });
    } finally {
      clearTimeout(timer);
    }
  }

  const key = (kind: "replay" | "rl", k: string): string =>
    `${prefix}${kind}:${createHash("sha256").update(k, "utf8").digest("hex")}`;

  const replay: ReplayStore = {
    async seen(k) {
      return run("seen", async () => (await client.call("EXISTS", key("replay", k))) === 1);
    },
    async consume(k, expiresAt) {
      checkExpiresAt(expiresAt);
      // Atomic: of any number of concurrent consumers, on any instance, exactly one gets OK.
      return run(
        "consume",
        async () =>
          (await client.call(
            "SET",
            key("replay", k),
            "1",
            "NX",
            "EXAT",
            Math.min(Math.ceil(expiresAt), MAX_EXAT),
          )) === "OK",
      );
    },
  };

  const rateLimiter: RateLimiter = {
    async hit(k, limit, windowSeconds): Promise<RateLimitResult> {
      checkLimit(limit, windowSeconds);
      const args = [key("rl", k), limit, windowMicros(windowSeconds)] as const;
      return run("hit", async () => {
        let reply: unknown;
        try {
          reply = await client.call("EVALSHA", GCRA_SHA, 1, ...args);
        } catch (err) {
          // First use, or the server restarted / flushed its script cache: load it by sending it once.
          if (!messageOf(err).startsWith("NOSCRIPT")) throw err;
          reply = await client.call("EVAL", GCRA_LUA, 1, ...args);
        }
        if (!Array.isArray(reply) || typeof reply[0] !== "number" || typeof reply[1] !== "number") {
          throw new Error("unexpected reply from rate-limit script");
        }
        return reply[0] === 1
          ? { allowed: true, retryAfter: 0 }
          : { allowed: false, retryAfter: retryAfterSeconds(reply[1]) };
      });
    },
  };

  return {
    replay,
    rateLimiter,
    status(): StoreStatus {
      const state = closed ? "closed" : client.status;
      const ok = !closed && client.status === "ready" && opError === undefined;
      const detail = [
        `${where}: ${state}`,
        ...(connError === undefined ? [] : [`connection error: ${connError}`]),
        ...(opError === undefined ? [] : [`last operation failed: ${opError}`]),
      ].join("; ");
      return { kind: "redis", ok, detail };
    },
    ready(timeoutMs = 5000) {
      if (client.status === "ready") return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          client.off("ready", onReady);
          reject(
            new BrokerError("unavailable", {
              reason: "store.unavailable",
              detail: "redis not ready",
              retryAfter: 1,
            }),
          );
        }, timeoutMs);
        const onReady = (): void => {
          clearTimeout(timer);
          resolve();
        };
        client.once("ready", onReady);
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      let timer: NodeJS.Timeout | undefined;
      try {
        // QUIT politely, but never wait on a dead or hung server (a Cluster's quit can wait forever).
        if (client.status === "ready") {
          await Promise.race([
            client.quit(),
            new Promise((resolve) => {
              timer = setTimeout(resolve, opDeadline);
            }),
          ]);
        }
      } catch {
        // already gone
      } finally {
        clearTimeout(timer);
        // Always: stops the reconnect loop and drops every socket.
        client.disconnect();
      }
    },
  };
}

function connect(target: RedisTarget, commandTimeout: number): Client {
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

function describe(target: RedisTarget): string {
  const hp = (h: HostPort): string =>
    h.host.includes(":") ? `[${h.host}]:${h.port}` : `${h.host}:${h.port}`;
  const tls = target.tls ? " (tls)" : "";
  switch (target.mode) {
    case "standalone":
      return `redis ${hp(target)}/${target.db}${tls}`;
    case "sentinel":
      return `redis sentinel ${target.name}/${target.db} via ${target.sentinels.map(hp).join(",")}${tls}`;
    case "cluster":
      return `redis cluster ${target.nodes.map(hp).join(",")}${tls}`;
  }
}

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));
