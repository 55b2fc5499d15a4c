/**
 * In-memory store for a single instance: a bounded replay set and a GCRA rate limiter.
 *
 * Both tables hold at most `maxEntries` live entries each. Expired entries are dropped first (a min-heap on
 * the deadline, so a write costs O(log n)). When a table is full of live entries the write fails closed with
 * `unavailable` (503 + Retry-After) instead of evicting:
 * - evicting a consumed jti would let that token be replayed, which is the one thing `singleUse` promises
 *   cannot happen; refusing new single-use tokens for a while is the safe failure;
 * - evicting a live bucket would hand that subject a fresh burst, so a caller able to mint many subjects
 *   could reset its own limit. Existing keys keep working; only new keys are refused until entries expire
 *   (a bucket lives at most one window, a jti until its token's `exp`).
 */
import { BrokerError } from "../errors.ts";
import type { Clock } from "../util/clock.ts";
import { systemClock } from "../util/clock.ts";
import type {
  CertifiedKeyDirectory,
  RateLimiter,
  RateLimitResult,
  ReplayStore,
  Store,
  StoreStatus,
} from "./types.ts";

/** Bound on shared certified-key statements (an instance adds one per half key lifetime). */
export const MAX_CERTIFIED_KEYS = 1_000;

export interface MemoryStoreOptions {
  /** Epoch milliseconds; inject a frozen clock in tests. */
  clock?: Clock;
  /** Bound on live entries, per table (replay set, rate-limit buckets). Default 100 000. */
  maxEntries?: number;
}

export const DEFAULT_MAX_ENTRIES = 100_000;

/**
 * GCRA (generic cell rate algorithm: a token bucket kept as one timestamp). The emission interval is
 * `window / limit`; a request conforms when the theoretical arrival time after it (`newTat`) is at most one
 * window ahead of now. So a fresh key gets a burst of `limit`, then one request per interval; an idle key is
 * full again after one window, when its state can be dropped. Any span of one window admits at most
 * 2 × limit (a full burst, then a window's worth of refill), the usual token-bucket bound.
 *
 * Integer microseconds, so no rounding ever drifts (exact in a double until 2255); the interval is rounded
 * down to whole microseconds, which can only admit one extra request in a burst at limits above ~1000/s.
 * `tat` is the stored state, absent for a full bucket. src/store/redis.ts runs the same arithmetic in Lua:
 * keep the two in step.
 */
export function gcra(
  tat: number | undefined,
  nowUs: number,
  limit: number,
  windowUs: number,
): { allowed: true; newTat: number } | { allowed: false; retryAfter: number } {
  const interval = Math.max(1, Math.floor(windowUs / limit));
  const newTat = Math.max(tat ?? nowUs, nowUs) + interval;
  const allowAt = newTat - windowUs;
  if (allowAt > nowUs) return { allowed: false, retryAfter: retryAfterSeconds(allowAt - nowUs) };
  return { allowed: true, newTat };
}

/** Whole seconds for Retry-After (RFC 9110 §10.2.3), at least 1 when refused. */
export const retryAfterSeconds = (waitUs: number): number => Math.max(1, Math.ceil(waitUs / 1e6));

/** Window in whole microseconds, as both implementations use it. */
export const windowMicros = (windowSeconds: number): number => Math.round(windowSeconds * 1e6);

/** Programmer mistakes (a policy schema should never let these through) are TypeErrors, not 503s. */
export function checkLimit(limit: number, windowSeconds: number): void {
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new TypeError(`rate limit: limit must be a positive integer, got ${limit}`);
  }
  if (!(windowSeconds >= 1e-6 && windowSeconds <= 1e9)) {
    throw new TypeError(`rate limit: windowSeconds must be between 1e-6 and 1e9, got ${windowSeconds}`);
  }
}

export function checkExpiresAt(expiresAt: number): void {
  if (!Number.isFinite(expiresAt) || expiresAt <= 0) {
    throw new TypeError(`replay: expiresAt must be epoch seconds, got ${expiresAt}`);
  }
}

const full = (table: string): BrokerError =>
  new BrokerError("unavailable", {
    reason: "store.unavailable",
    detail: `${table} table full`,
    retryAfter: 1,
  });

export function createMemoryStore(opts: MemoryStoreOptions = {}): Store {
  const clock = opts.clock ?? systemClock;
  const maxEntries = opts.maxEntries ?? DEFAULT_MAX_ENTRIES;
  if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
    throw new TypeError(`memory store: maxEntries must be a positive integer, got ${maxEntries}`);
  }
  const consumed = new ExpiringTable(maxEntries);
  const buckets = new ExpiringTable(maxEntries);
  let closed = false;

  const open = (): void => {
    if (closed) {
      throw new BrokerError("unavailable", {
        reason: "store.unavailable",
        detail: "store closed",
        retryAfter: 1,
      });
    }
  };

  const replay: ReplayStore = {
    async seen(key) {
      open();
      return consumed.get(key, clock()) !== undefined;
    },
    async consume(key, expiresAt) {
      checkExpiresAt(expiresAt);
      open();
      const now = clock();
      if (consumed.get(key, now) !== undefined) return false;
      // Redis keeps the EXAT deadline in whole seconds; so do we, to behave the same.
      const deadline = Math.ceil(expiresAt) * 1000;
      // Already past its deadline: nothing to remember (Redis drops such a key at once, too).
      if (deadline <= now) return true;
      if (!consumed.set(key, deadline, now)) throw full("replay");
      return true;
    },
  };

  const rateLimiter: RateLimiter = {
    async hit(key, limit, windowSeconds): Promise<RateLimitResult> {
      checkLimit(limit, windowSeconds);
      open();
      // The bucket table keeps TATs in microseconds.
      const now = Math.floor(clock() * 1000);
      const result = gcra(buckets.get(key, now), now, limit, windowMicros(windowSeconds));
      if (!result.allowed) return { allowed: false, retryAfter: result.retryAfter };
      if (!buckets.set(key, result.newTat, now)) throw full("rate-limit");
      return { allowed: true, retryAfter: 0 };
    },
  };

  /** One instance: its own statements only, a handful over its lifetime; expired ones are dropped on write. */
  const statements = new Map<string, { statement: string; expiresAt: number }>();
  const certifiedKeys: CertifiedKeyDirectory = {
    async publish(kid, statement, expiresAt) {
      checkExpiresAt(expiresAt);
      const nowS = Date.now() / 1000;
      for (const [k, v] of statements) if (v.expiresAt <= nowS) statements.delete(k);
      if (statements.size >= MAX_CERTIFIED_KEYS) throw full("certified-keys");
      statements.set(kid, { statement, expiresAt });
    },
    async list() {
      return [...statements.values()].map((v) => v.statement);
    },
  };

  return {
    replay,
    rateLimiter,
    certifiedKeys,
    status(): StoreStatus {
      if (closed) return { kind: "memory", ok: false, detail: "closed" };
      const now = clock();
      const r = consumed.size(now);
      const b = buckets.size(Math.floor(now * 1000));
      const ok = r < maxEntries && b < maxEntries;
      return {
        kind: "memory",
        ok,
        detail: `replay ${r}/${maxEntries}, rate-limit ${b}/${maxEntries} entries`,
      };
    },
    async close() {
      closed = true;
      consumed.clear();
      buckets.clear();
    },
  };
}

interface HeapItem {
  at: number;
  key: string;
}

/**
 * key → deadline (epoch ms for the replay set, µs for rate-limit TATs); an entry is live while `deadline > now`. A binary min-heap on the deadline finds
 * expired entries in O(log n); heap items outdated by a later `set` of the same key are skipped when popped
 * and compacted away when they outnumber the live entries.
 */
class ExpiringTable {
  readonly #max: number;
  readonly #deadlines = new Map<string, number>();
  #heap: HeapItem[] = [];

  constructor(max: number) {
    this.#max = max;
  }

  get(key: string, now: number): number | undefined {
    const at = this.#deadlines.get(key);
    if (at === undefined || at > now) return at;
    this.#deadlines.delete(key);
    return undefined;
  }

  /** False (and nothing stored) when `key` is new and the table is full of live entries. */
  set(key: string, at: number, now: number): boolean {
    this.#purge(now);
    if (!this.#deadlines.has(key) && this.#deadlines.size >= this.#max) return false;
    this.#deadlines.set(key, at);
    this.#push({ at, key });
    if (this.#heap.length > 2 * this.#deadlines.size + 1024) this.#compact();
    return true;
  }

  size(now: number): number {
    this.#purge(now);
    return this.#deadlines.size;
  }

  clear(): void {
    this.#deadlines.clear();
    this.#heap = [];
  }

  #purge(now: number): void {
    for (let top = this.#heap[0]; top !== undefined && top.at <= now; top = this.#heap[0]) {
      this.#pop();
      if (this.#deadlines.get(top.key) === top.at) this.#deadlines.delete(top.key);
    }
  }

  #compact(): void {
    this.#heap = [];
    for (const [key, at] of this.#deadlines) this.#push({ at, key });
  }

  #push(item: HeapItem): void {
    const h = this.#heap;
    h.push(item);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = h[parent] as HeapItem;
      if (p.at <= item.at) break;
      h[i] = p;
      i = parent;
    }
    h[i] = item;
  }

  #pop(): void {
    const h = this.#heap;
    const last = h.pop();
    if (last === undefined || h.length === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= h.length) break;
      const r = l + 1;
      const left = h[l] as HeapItem;
      const right = h[r];
      const [c, child] = right !== undefined && right.at < left.at ? [r, right] : [l, left];
      if (last.at <= child.at) break;
      h[i] = child;
      i = c;
    }
    h[i] = last;
  }
}
