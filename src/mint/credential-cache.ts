import { createHash } from "node:crypto";
import type { IssuedToken } from "./types.ts";

/**
 * In-memory cache of issued cloud credentials, so a burst of identical exchanges does not become a burst of STS
 * or IAM Credentials calls (both throttle). Per process only: a credential never leaves memory (no Redis, no
 * disk). An entry is served for at most half of the credential's lifetime, so a cached answer always has at
 * least half of its lifetime left, and never with less than `minRemainingMs` left (a credential that lives
 * shorter than that is not served from the cache at all); the size is bounded and the least recently used
 * entry goes first.
 */
export interface CredentialCache {
  /** The cached token with `expiresIn` counted down to `now`, or undefined. */
  get(key: string, now: number): IssuedToken | undefined;
  /** Caches `token`, which expires at `expiresAt` (epoch ms), until half its remaining lifetime has passed. */
  set(key: string, token: IssuedToken, expiresAt: number, now: number): void;
  readonly size: number;
}

export interface CredentialCacheOptions {
  /** Upper bound on entries (default 1000). */
  maxEntries?: number;
  /** A cached credential is served only while it has at least this much left (default 0). */
  minRemainingMs?: number;
}

interface Entry {
  token: IssuedToken;
  expiresAt: number;
  staleAt: number;
}

export function createCredentialCache(options: CredentialCacheOptions = {}): CredentialCache {
  const maxEntries = options.maxEntries ?? 1000;
  const minRemaining = options.minRemainingMs ?? 0;
  if (!Number.isInteger(maxEntries) || maxEntries < 1)
    throw new TypeError("maxEntries must be a positive integer");
  // A Map iterates in insertion order: re-inserting on every hit makes the first key the least recently used.
  const entries = new Map<string, Entry>();

  return {
    get(key, now) {
      const entry = entries.get(key);
      if (!entry) return undefined;
      if (now >= entry.staleAt) {
        entries.delete(key);
        return undefined;
      }
      entries.delete(key);
      entries.set(key, entry);
      return { ...entry.token, expiresIn: Math.floor((entry.expiresAt - now) / 1000) };
    },
    set(key, token, expiresAt, now) {
      const lifetime = expiresAt - now;
      if (lifetime <= 0) return;
      entries.delete(key);
      // Stale once less than max(half the lifetime, minRemaining) is left; at once if it lives shorter.
      const keep = Math.max(lifetime / 2, Math.min(minRemaining, lifetime));
      entries.set(key, { token: { ...token }, expiresAt, staleAt: expiresAt - keep });
      while (entries.size > maxEntries) {
        const oldest = entries.keys().next().value;
        if (oldest === undefined) break;
        entries.delete(oldest);
      }
    },
    get size() {
      return entries.size;
    },
  };
}

/**
 * A cache key over everything that makes two credentials interchangeable: target kind and rendered spec, the
 * admitting policy, the subject, tags and the requested lifetime. Canonical JSON (sorted keys) then SHA-256, so
 * equal inputs give equal keys whatever the property order, and keys hold no subject in the clear.
 */
export function credentialCacheKey(parts: Record<string, unknown>): string {
  return createHash("sha256").update(canonicalJson(parts)).digest("base64url");
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record)
      .filter((k) => record[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(record[k])}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}
