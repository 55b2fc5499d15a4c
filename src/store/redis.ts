/**
 * Redis store, shared by every broker instance: the single-use marker (SET NX EXAT with a per-presentation nonce)
 * and a GCRA rate limiter (one Lua script, one round trip, server clock). Fails closed: no offline queue, a
 * lag-aware deadline per attempt (deadline.ts), resends within the operation's 4× budget; every error
 * becomes BrokerError("unavailable") with Retry-After 1 while the client reconnects with backoff, forever, in the
 * background. URL parsing lives in redis/url.ts, the client in redis/connection.ts, the scripts in
 * redis/scripts.ts; this file is the operations.
 *
 * Keys: `<keyPrefix>replay:<sha256(key)>` and `<keyPrefix>rl:<sha256(key)>`, so whatever a caller's key holds
 * (a subject, an issuer, a jti chosen by a token's issuer) cannot shape the Redis key space, and each
 * command touches one key (Cluster-safe, no hash tags needed).
 */
import { createHash, randomBytes } from "node:crypto";
import { BrokerError } from "../errors.ts";
import { checkExpiresAt, checkLimit, MAX_CERTIFIED_KEYS, retryAfterSeconds, windowMicros } from "./memory.ts";
import { connect } from "./redis/connection.ts";
import { DeadlineExceeded, withDeadline } from "./redis/deadline.ts";
import { describe, parseRedisUrl } from "./redis/url.ts";
import type {
  CertifiedKeyDirectory,
  RateLimiter,
  RateLimitResult,
  ReplayStore,
  Store,
  StoreStatus,
} from "./types.ts";

export type { RedisTarget } from "./redis/url.ts";
export { parseRedisUrl } from "./redis/url.ts";

export interface RedisStoreOptions {
  url: string;
  /** Per-attempt deadline, ms (default 50); an operation makes at most MAX_ATTEMPTS attempts. */
  commandTimeoutMs?: number;
  /** Prepended to every key, e.g. `wif-broker:prod:`. Default `wif-broker:`. */
  keyPrefix?: string;
  /** Connection and command failures, for logs and metrics; the message never holds a credential. */
  onError?: (event: RedisStoreErrorEvent) => void;
}

export interface RedisStoreErrorEvent {
  op: "connection" | "seen" | "consume" | "hit" | "certified-keys";
  message: string;
}

export interface RedisStore extends Store {
  /** Resolves once connected (or at once if already); rejects after `timeoutMs`. Startup may skip it. */
  ready(timeoutMs?: number): Promise<void>;
}

/**
 * An attempt whose reply misses its deadline is sent again, up to MAX_ATTEMPTS in all, so an operation waits at
 * most 4× the command timeout (200 ms by default) — the bound the store has always promised — instead of failing
 * the first time a loaded host delays one reply past 50 ms (measured in the soak: late replies arrive 52–180 ms after
 * sending, with the broker's own timer on time). On one connection a resend queues behind the late reply, so it
 * costs Redis one tiny command and mostly buys that reply more time. Every operation is safe to repeat: `seen`
 * reads, `consume` recognises its own nonce, and a repeated rate-limit hit can only count against the caller.
 */
export const MAX_ATTEMPTS = 4;

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

  // ioredis's own commandTimeout is the backstop that frees a command the server never answers; the deadline
  // that decides 503 is the lag-aware one per attempt.
  const client = connect(target, Math.max(1000, commandTimeout * 10));
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
  async function attempt<T>(fn: () => Promise<T>): Promise<T> {
    for (let n = 1; ; n++) {
      try {
        return await withDeadline(fn(), commandTimeout);
      } catch (err) {
        if (!(err instanceof DeadlineExceeded) || n >= MAX_ATTEMPTS || client.status !== "ready") throw err;
      }
    }
  }
  async function run<T>(op: RedisStoreErrorEvent["op"], fn: () => Promise<T>): Promise<T> {
    try {
      const result = await attempt(fn);
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
      // Atomic: of any number of concurrent consumers, on any instance, exactly one gets 1. The nonce is this
      // presentation's: every attempt of this call carries the same one, any other presentation another.
      const nonce = randomBytes(16).toString("base64url");
      const exat = Math.min(Math.ceil(expiresAt), MAX_EXAT);
      return run("consume", async () => (await client.consumeOnce(key("replay", k), nonce, exat)) === 1);
    },
  };

  const rateLimiter: RateLimiter = {
    async hit(k, limit, windowSeconds): Promise<RateLimitResult> {
      checkLimit(limit, windowSeconds);
      return run("hit", async () => {
        const reply = await client.gcraHit(key("rl", k), limit, windowMicros(windowSeconds));
        if (!Array.isArray(reply) || typeof reply[0] !== "number" || typeof reply[1] !== "number") {
          throw new Error("unexpected reply from rate-limit script");
        }
        return reply[0] === 1
          ? { allowed: true, retryAfter: 0 }
          : { allowed: false, retryAfter: retryAfterSeconds(reply[1]) };
      });
    },
  };

  // One hash, field = kid, value = "<exp>.<statement>"; expired fields are dropped by whoever lists them.
  const certifiedKey = `${prefix}certified-keys`;
  const certifiedKeys: CertifiedKeyDirectory = {
    async publish(kid, statement, expiresAt) {
      checkExpiresAt(expiresAt);
      await run("certified-keys", () =>
        client.call("HSET", certifiedKey, kid, `${Math.ceil(expiresAt)}.${statement}`),
      );
    },
    async list() {
      return run("certified-keys", async () => {
        const flat = (await client.call("HGETALL", certifiedKey)) as string[];
        const now = Date.now() / 1000;
        const live: string[] = [];
        const expired: string[] = [];
        for (let i = 0; i + 1 < flat.length && live.length < MAX_CERTIFIED_KEYS; i += 2) {
          const value = flat[i + 1] ?? "";
          const dot = value.indexOf(".");
          if (Number(value.slice(0, dot)) > now) live.push(value.slice(dot + 1));
          else expired.push(flat[i] ?? "");
        }
        if (expired.length > 0) await client.call("HDEL", certifiedKey, ...expired);
        return live;
      });
    },
  };

  return {
    replay,
    rateLimiter,
    certifiedKeys,
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

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));
