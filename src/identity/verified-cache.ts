import type { Provider } from "./verifier.ts";

/** A token whose signature held: what a repeat presentation may skip re-checking. */
export interface VerifiedEntry {
  provider: Provider;
  payload: Readonly<Record<string, unknown>>;
  /** Epoch ms after which the entry is not used, whatever the token's exp says. */
  until: number;
}

/** Entries by default: ~1 KiB of claims each, so about 10 MiB at most. */
export const DEFAULT_VERIFIED_ENTRIES = 10_000;
/**
 * How long a verified signature is trusted without checking it again: the JWKS freshness window (identity/jwks.ts),
 * so a key the issuer withdraws stops admitting cached tokens no later than it stops admitting new ones.
 */
export const VERIFIED_TTL_MS = 10 * 60_000;

/**
 * Tokens whose signature verified, keyed by the SHA-256 of the whole compact token (any other byte string is a
 * different key, so nothing unverified can hit). A hit skips JSON decoding, the key lookup and the signature check;
 * the caller still checks exp/nbf/iat against the clock on every presentation, and single-use policies still consult
 * the replay store (exchange/service.ts): the cache only ever remembers a signature. Bounded: least recently
 * inserted entries go first.
 */
export class VerifiedTokenCache {
  readonly #entries = new Map<string, VerifiedEntry>();
  readonly #max: number;

  constructor(max = DEFAULT_VERIFIED_ENTRIES) {
    if (!Number.isInteger(max) || max < 0) throw new TypeError("max must be a non-negative integer");
    this.#max = max;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(sha256: string, nowMs: number): VerifiedEntry | undefined {
    const e = this.#entries.get(sha256);
    if (e === undefined) return undefined;
    if (nowMs >= e.until) {
      this.#entries.delete(sha256);
      return undefined;
    }
    return e;
  }

  /** Remembers a verified token until `min(exp, now + VERIFIED_TTL_MS)`. */
  set(sha256: string, entry: Omit<VerifiedEntry, "until">, expSeconds: number, nowMs: number): void {
    if (this.#max === 0) return;
    const until = Math.min(expSeconds * 1000, nowMs + VERIFIED_TTL_MS);
    if (until <= nowMs) return;
    this.#entries.delete(sha256);
    while (this.#entries.size >= this.#max) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
    this.#entries.set(sha256, { ...entry, until });
  }
}
