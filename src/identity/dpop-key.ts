import { createHash, createPublicKey, type JsonWebKey, type KeyObject } from "node:crypto";

/** RFC 7638 §3.2 (RFC 8037 §2 for OKP): the members a key type's thumbprint covers, in lexicographic order. */
const REQUIRED_MEMBERS: Readonly<Record<string, readonly string[]>> = {
  EC: ["crv", "kty", "x", "y"],
  OKP: ["crv", "kty", "x"],
  RSA: ["e", "kty", "n"],
};

/** JWK members that only a private (or symmetric) key has: RFC 9449 §4.3 check 7. */
export const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"] as const;

/** Proof keys remembered: a client signs all its proofs with one key, so one entry per active client. */
export const PROOF_KEY_CACHE_ENTRIES = 1024;

export interface ProofKey {
  key: KeyObject;
  /** RFC 7638 SHA-256 thumbprint, base64url: what `cnf.jkt` holds (RFC 9449 §6.1). */
  jkt: string;
}

/** The required members, in order; undefined for an unknown key type or a required member missing or not a string. */
function requiredMembers(jwk: Readonly<Record<string, unknown>>): Record<string, string> | undefined {
  const names = typeof jwk.kty === "string" ? REQUIRED_MEMBERS[jwk.kty] : undefined;
  if (names === undefined) return undefined;
  const members: Record<string, string> = {};
  for (const name of names) {
    const value = jwk[name];
    if (typeof value !== "string") return undefined;
    members[name] = value;
  }
  return members;
}

/**
 * RFC 7638 §3.1: the JSON of the required members only, in lexicographic order, without whitespace (§3.3: values
 * verbatim); undefined when they are not all there.
 */
export function thumbprintInput(jwk: Readonly<Record<string, unknown>>): string | undefined {
  const members = requiredMembers(jwk);
  return members && JSON.stringify(members);
}

/** RFC 7638 §3 with SHA-256, synchronously (jose's `calculateJwkThumbprint` is the async WebCrypto equivalent). */
export const thumbprintOf = (input: string): string => createHash("sha256").update(input).digest("base64url");

/**
 * The public keys of DPoP proofs, imported once per key rather than once per proof. Keyed by the thumbprint input
 * — exactly the members the KeyObject is built from — so a cached key is the key the proof names, never a
 * look-alike. Only keys that imported are remembered; least recently inserted go first.
 */
export class ProofKeyCache {
  readonly #entries = new Map<string, ProofKey>();
  readonly #max: number;

  constructor(max = PROOF_KEY_CACHE_ENTRIES) {
    if (!Number.isInteger(max) || max < 1) throw new TypeError("max must be a positive integer");
    this.#max = max;
  }

  /** The key a public JWK names, or undefined when it is not a well-formed public key of a known type. */
  resolve(jwk: Readonly<Record<string, unknown>>): ProofKey | undefined {
    const members = requiredMembers(jwk);
    if (members === undefined) return undefined;
    const input = JSON.stringify(members);
    const cached = this.#entries.get(input);
    if (cached) return cached;
    let key: KeyObject;
    try {
      key = createPublicKey({ key: members as JsonWebKey, format: "jwk" });
    } catch {
      return undefined;
    }
    const entry = { key, jkt: thumbprintOf(input) };
    if (this.#entries.size >= this.#max) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    this.#entries.set(input, entry);
    return entry;
  }
}
