/**
 * Shared state behind small interfaces, each with an in-memory implementation (one instance) and a Redis one
 * (several instances). Failures throw BrokerError("unavailable", { reason: "store.unavailable" }): requests that
 * need the store fail closed with 503; requests that do not need it never touch it.
 */

/** `singleUse`: a subject token's jti is accepted once. */
export interface ReplayStore {
  /** True when `key` was already consumed. A read-only pre-check, so a replay is refused before minting. */
  seen(key: string): Promise<boolean>;
  /** Atomically records `key` until `expiresAt` (epoch s). False when it was already recorded. */
  consume(key: string, expiresAt: number): Promise<boolean>;
}

export interface RateLimitResult {
  allowed: boolean;
  /** Seconds until a request would be allowed again (0 when allowed). */
  retryAfter: number;
}

/** `rateLimit`: requests per (policy, subject) across all instances. */
export interface RateLimiter {
  hit(key: string, limit: number, windowSeconds: number): Promise<RateLimitResult>;
}

/**
 * `mode: certified` signing keys: every instance's KMS-signed statement about its in-memory key, shared so that
 * every instance's /jwks lists every instance's key. Statements are verified by the reader, never trusted.
 */
export interface CertifiedKeyDirectory {
  /** Stores `statement` under `kid` until `expiresAt` (epoch s). */
  publish(kid: string, statement: string, expiresAt: number): Promise<void>;
  /** Every unexpired statement. */
  list(): Promise<string[]>;
}

export interface StoreStatus {
  kind: "memory" | "redis";
  ok: boolean;
  detail?: string;
}

export interface Store {
  readonly replay: ReplayStore;
  readonly rateLimiter: RateLimiter;
  readonly certifiedKeys: CertifiedKeyDirectory;
  status(): StoreStatus;
  /** Resolves once connected (stores that need no connection omit it); rejects after `timeoutMs`. */
  ready?(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}
