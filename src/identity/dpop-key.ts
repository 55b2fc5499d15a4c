import { createPublicKey, type JsonWebKey, type KeyObject } from "node:crypto";
import { requiredMembers, thumbprintOf } from "../jose/thumbprint.ts";

/** JWK members that only a private (or symmetric) key has: RFC 9449 §4.3 check 7. */
export const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"] as const;

/** Proof keys remembered: a client signs all its proofs with one key, so one entry per active client. */
export const PROOF_KEY_CACHE_ENTRIES = 1024;

export interface ProofKey {
  key: KeyObject;
  /** RFC 7638 SHA-256 thumbprint, base64url: what `cnf.jkt` holds (RFC 9449 §6.1). */
  jkt: string;
}

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
