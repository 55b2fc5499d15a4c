import { createHash, createPublicKey, type KeyObject } from "node:crypto";
import type { SigningAlgorithm } from "../config/schema.ts";
import { createSignature, keyFitsAlgorithm } from "../jose/jwa.ts";
import type { Clock } from "../util/clock.ts";
import type { TokenSigner } from "./signer.ts";

export interface SigningKey {
  kid: string;
  alg: SigningAlgorithm;
  privateKey: KeyObject;
  /** Epoch ms from which the key may sign; the newest eligible key is active (rotation without downtime). */
  notBefore: number;
}

export type PublicJwk = Record<string, string>;

const PUBLIC_MEMBERS = ["kty", "crv", "x", "y", "n", "e"] as const;

function publicJwk(key: KeyObject): Record<string, string> {
  const full = createPublicKey(key).export({ format: "jwk" }) as Record<string, unknown>;
  const out: Record<string, string> = {};
  for (const m of PUBLIC_MEMBERS) if (typeof full[m] === "string") out[m] = full[m] as string;
  return out;
}

/** RFC 7638 JWK thumbprint: SHA-256 over the required members in lexicographic order. */
export function jwkThumbprint(key: KeyObject): string {
  const jwk = publicJwk(key);
  const required =
    jwk.kty === "RSA" ? ["e", "kty", "n"] : jwk.kty === "EC" ? ["crv", "kty", "x", "y"] : ["crv", "kty", "x"];
  const canonical = JSON.stringify(Object.fromEntries(required.map((m) => [m, jwk[m]])));
  return createHash("sha256").update(canonical).digest("base64url");
}

export class KeySetError extends Error {
  override name = "KeySetError";
}

/**
 * The broker's signing keys: the active one signs; the next (not yet active) and retired ones are published in
 * /jwks so relying parties have them cached before and after a rotation.
 */
export class SigningKeySet implements TokenSigner {
  readonly issuer: string;
  readonly #keys: readonly SigningKey[];
  readonly #clock: Clock;
  readonly #headers = new Map<string, string>();
  readonly #jwks: { keys: PublicJwk[] };

  constructor(keys: readonly SigningKey[], issuer: string, clock: Clock) {
    if (keys.length === 0) throw new KeySetError("no signing keys");
    for (const k of keys) {
      if (!keyFitsAlgorithm(createPublicKey(k.privateKey), k.alg))
        throw new KeySetError(`key ${k.kid} does not fit ${k.alg}`);
    }
    this.#keys = [...keys].sort((a, b) => a.notBefore - b.notBefore);
    this.issuer = issuer;
    this.#clock = clock;
    this.#jwks = {
      keys: this.#keys.map((k) => ({ ...publicJwk(k.privateKey), kid: k.kid, alg: k.alg, use: "sig" })),
    };
  }

  /** The newest key whose notBefore has passed; the oldest key when none has (a freshly generated set). */
  active(): SigningKey {
    const now = this.#clock();
    let active = this.#keys[0] as SigningKey;
    for (const k of this.#keys) if (k.notBefore <= now) active = k;
    return active;
  }

  get size(): number {
    return this.#keys.length;
  }

  jwks(): { keys: PublicJwk[] } {
    return this.#jwks;
  }

  sign(claims: Record<string, unknown>, typ: string): string {
    const key = this.active();
    const cacheKey = `${key.kid}\0${typ}`;
    let header = this.#headers.get(cacheKey);
    if (header === undefined) {
      header = Buffer.from(JSON.stringify({ alg: key.alg, kid: key.kid, typ })).toString("base64url");
      this.#headers.set(cacheKey, header);
    }
    const input = `${header}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}`;
    return `${input}.${createSignature(key.alg, key.privateKey, Buffer.from(input)).toString("base64url")}`;
  }
}
