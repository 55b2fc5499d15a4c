import { createPublicKey, type KeyObject } from "node:crypto";
import { BrokerError, badToken } from "../errors.ts";
import { keyFitsAlgorithm } from "../jose/jwa.ts";
import { publicJwkProblem } from "../jose/jwk-validate.ts";
import { ATTR, tracedCall } from "../observability/tracing.ts";
import type { Clock } from "../util/clock.ts";
import { FetchError, type FetchLimits, fetchJson } from "./fetch.ts";

/** Cache bounds of CONTRACT §2 "Token intake". */
export interface KeyCachePolicy {
  /** Keys younger than this are used without a fetch. */
  freshMs: number;
  /** On fetch failure, keys younger than this still verify. */
  staleMs: number;
  /** An unknown `kid` triggers at most one refetch per this interval. */
  unknownKidRefetchMs: number;
  /** After a failed fetch, no new attempt for this long (cached keys keep serving). */
  failureBackoffMs: number;
  maxKeys: number;
}

export const DEFAULT_KEY_CACHE_POLICY: KeyCachePolicy = {
  freshMs: 10 * 60_000,
  staleMs: 6 * 3600_000,
  unknownKidRefetchMs: 30_000,
  failureBackoffMs: 30_000,
  maxKeys: 100,
};

interface CachedKey {
  kid: string | undefined;
  alg: string | undefined;
  key: KeyObject;
}

export interface KeySourceStatus {
  state: "never_fetched" | "fresh" | "stale" | "failing";
  fetchedAt?: string;
  keys: number;
  lastError?: string;
}

export interface ProviderKeySourceOptions {
  name: string;
  issuer: string;
  jwksUri: string | undefined;
  limits: FetchLimits;
  clock: Clock;
  policy?: KeyCachePolicy;
  fetchImpl?: typeof fetch;
  onFetch?: (result: "ok" | "error") => void;
  /** A key of the fetched JWKS failed validation and was dropped (the rest stay usable). No key material. */
  onKeyRejected?: (rejection: KeyRejection) => void;
}

export interface KeyRejection {
  provider: string;
  /** The key's `kid`, cut to 64 characters (it comes from the issuer). */
  kid: string | undefined;
  reason: string;
}

/**
 * A token without `kid` is tried against at most this many keys that fit its `alg` (type, curve, size, `use`,
 * `alg`), in JWKS order; a token signed by any later key is refused. Bounds the CPU one request can cost
 * (an RSA-16384 verify is ~10 ms) while an issuer that omits `kid` in a small JWKS keeps working.
 */
export const MAX_KIDLESS_CANDIDATES = 3;

const PUBLIC_MEMBERS: Record<string, readonly string[]> = {
  RSA: ["kty", "n", "e"],
  EC: ["kty", "crv", "x", "y"],
  OKP: ["kty", "crv", "x"],
};

type Imported = CachedKey | { rejected: string; kid: string | undefined } | undefined;

/**
 * Imports the public part of one JWK: undefined when it is not meant for signatures (RFC 7517 §4.2/§4.3: `use`
 * other than sig, `key_ops` without verify — skipped silently), `rejected` when it claims to be a signature key
 * but is malformed or unsafe (logged and counted by the caller).
 */
function importJwk(jwk: unknown): Imported {
  if (typeof jwk !== "object" || jwk === null) return { rejected: "not a JSON object", kid: undefined };
  const j = jwk as Record<string, unknown>;
  const kid = typeof j.kid === "string" ? j.kid.slice(0, 64) : undefined;
  if (j.use !== undefined && j.use !== "sig") return undefined;
  if (j.key_ops !== undefined && !(Array.isArray(j.key_ops) && j.key_ops.includes("verify")))
    return undefined;
  const members = typeof j.kty === "string" ? PUBLIC_MEMBERS[j.kty] : undefined;
  if (!members) return { rejected: "unsupported kty", kid };
  const pub: Record<string, string> = {};
  for (const m of members) {
    const v = j[m];
    if (typeof v !== "string") return { rejected: `member ${m} is missing or not a string`, kid };
    pub[m] = v;
  }
  const problem = publicJwkProblem(pub);
  if (problem !== undefined) return { rejected: problem, kid };
  try {
    return {
      kid: typeof j.kid === "string" ? j.kid : undefined,
      alg: typeof j.alg === "string" ? j.alg : undefined,
      key: createPublicKey({ key: pub, format: "jwk" }),
    };
  } catch {
    return { rejected: "node:crypto refused the key", kid };
  }
}

/** Discovery + JWKS for one provider: single-flight fetches, fresh/stale bounds, rate-limited kid misses. */
export class ProviderKeySource {
  readonly #o: ProviderKeySourceOptions;
  readonly #policy: KeyCachePolicy;
  #keys: CachedKey[] = [];
  #fetchedAt = -Infinity;
  #lastAttemptFailedAt = -Infinity;
  #lastKidMissRefetch = -Infinity;
  #lastError: string | undefined;
  #inflight: Promise<void> | undefined;

  constructor(options: ProviderKeySourceOptions) {
    this.#o = options;
    this.#policy = options.policy ?? DEFAULT_KEY_CACHE_POLICY;
  }

  /** Keys that may verify a token signed with `alg` under `kid`; fetching only as the cache policy allows. */
  async keysFor(kid: string | undefined, alg: string): Promise<KeyObject[]> {
    const now = this.#o.clock();
    const age = now - this.#fetchedAt;
    if (age >= this.#policy.staleMs) {
      // Nothing usable cached: this request must wait for the fetch.
      await this.#refreshUnlessBackingOff(now);
    } else if (age >= this.#policy.freshMs) {
      // Stale but usable: serve now, revalidate in the background.
      this.#refreshUnlessBackingOff(now).catch(() => undefined);
    }
    if (this.#o.clock() - this.#fetchedAt >= this.#policy.staleMs) {
      throw new BrokerError("unavailable", {
        reason: "jwks.unavailable",
        detail: `keys of provider ${this.#o.name} are unavailable`,
        retryAfter: Math.ceil(this.#policy.failureBackoffMs / 1000),
      });
    }
    let found = this.#select(kid, alg);
    // A known kid with the wrong alg is a bad token, not a rotation: only an unknown kid may trigger a refetch.
    if (found.length === 0 && kid !== undefined && !this.#keys.some((k) => k.kid === kid)) {
      if (this.#inflight) {
        // A fetch is already under way (perhaps for this very rotation): wait for it rather than refuse.
        await this.#inflight.catch(() => undefined);
      } else if (now - this.#lastKidMissRefetch >= this.#policy.unknownKidRefetchMs) {
        // An issuer may have rotated its keys: one refetch per interval, however many unknown kids arrive.
        this.#lastKidMissRefetch = now;
        await this.#refresh().catch(() => undefined);
      }
      found = this.#select(kid, alg);
    }
    if (found.length === 0) throw badToken("jwt.unknown_key", "no key of the provider matches kid and alg");
    return found;
  }

  status(): KeySourceStatus {
    const age = this.#o.clock() - this.#fetchedAt;
    const state =
      this.#fetchedAt === -Infinity
        ? this.#lastError
          ? "failing"
          : "never_fetched"
        : age < this.#policy.freshMs
          ? "fresh"
          : age < this.#policy.staleMs
            ? "stale"
            : "failing";
    return {
      state,
      keys: this.#keys.length,
      ...(this.#fetchedAt > -Infinity ? { fetchedAt: new Date(this.#fetchedAt).toISOString() } : {}),
      ...(this.#lastError ? { lastError: this.#lastError } : {}),
    };
  }

  #select(kid: string | undefined, alg: string): KeyObject[] {
    const fitting = this.#keys
      .filter((k) => (kid === undefined || k.kid === kid) && (k.alg === undefined || k.alg === alg))
      .filter((k) => keyFitsAlgorithm(k.key, alg))
      .map((k) => k.key);
    return kid === undefined ? fitting.slice(0, MAX_KIDLESS_CANDIDATES) : fitting;
  }

  #refreshUnlessBackingOff(now: number): Promise<void> {
    if (now - this.#lastAttemptFailedAt < this.#policy.failureBackoffMs) return Promise.resolve();
    return this.#refresh().catch(() => undefined);
  }

  /** Single-flight: concurrent callers share one fetch (one client span in the trace of the request that started it). */
  #refresh(): Promise<void> {
    this.#inflight ??= tracedCall("jwks fetch", { [ATTR.provider]: this.#o.name }, () =>
      this.#fetchKeys(),
    ).finally(() => {
      this.#inflight = undefined;
    });
    return this.#inflight;
  }

  async #fetchKeys(): Promise<void> {
    try {
      const jwksUri = this.#o.jwksUri ?? (await this.#discoverJwksUri());
      const doc = await fetchJson(jwksUri, this.#o.limits, this.#o.fetchImpl);
      const list = (doc as { keys?: unknown })?.keys;
      if (!Array.isArray(list)) throw new FetchError("JWKS has no keys array");
      const keys: CachedKey[] = [];
      for (const jwk of list.slice(0, this.#policy.maxKeys)) {
        const imported = importJwk(jwk);
        if (imported === undefined) continue;
        if ("rejected" in imported) {
          this.#o.onKeyRejected?.({ provider: this.#o.name, kid: imported.kid, reason: imported.rejected });
        } else keys.push(imported);
      }
      this.#keys = keys;
      this.#fetchedAt = this.#o.clock();
      this.#lastError = undefined;
      this.#o.onFetch?.("ok");
    } catch (e) {
      this.#lastAttemptFailedAt = this.#o.clock();
      this.#lastError = e instanceof FetchError ? e.message : "fetch failed";
      this.#o.onFetch?.("error");
      // Callers only wait for the fetch (the failure is in status()); the span records this reason code.
      throw new BrokerError("unavailable", { reason: "jwks.unavailable", cause: e });
    }
  }

  /** OpenID Connect Discovery 1.0 §4: the document's issuer MUST equal the configured issuer exactly. */
  async #discoverJwksUri(): Promise<string> {
    const base = this.#o.issuer.endsWith("/") ? this.#o.issuer.slice(0, -1) : this.#o.issuer;
    const doc = (await fetchJson(
      `${base}/.well-known/openid-configuration`,
      this.#o.limits,
      this.#o.fetchImpl,
    )) as {
      issuer?: unknown;
      jwks_uri?: unknown;
    } | null;
    if (doc?.issuer !== this.#o.issuer) throw new FetchError("discovery issuer does not match");
    if (typeof doc.jwks_uri !== "string") throw new FetchError("discovery has no jwks_uri");
    return doc.jwks_uri;
  }
}
