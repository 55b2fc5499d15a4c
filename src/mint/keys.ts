import { createPublicKey, type KeyObject } from "node:crypto";
import type { SigningAlgorithm } from "../config/schema.ts";
import { keyFitsAlgorithm } from "../jose/jwa.ts";
import { type Deadline, JwsWriter, NO_REQUEST_DEADLINE } from "../signing/jws.ts";
import { keyObjectSigner } from "../signing/key-object.ts";
import { type PublicJwk, publishedJwk } from "../signing/published-key.ts";
import type { Clock } from "../util/clock.ts";
import type { TokenSigner } from "./signer.ts";

export interface SigningKey {
  kid: string;
  alg: SigningAlgorithm;
  privateKey: KeyObject;
  /** Epoch ms from which the key may sign; the newest eligible key is active (rotation without downtime). */
  notBefore: number;
}

export type { PublicJwk } from "../signing/published-key.ts";
export { jwkThumbprint } from "../signing/published-key.ts";

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
  readonly #writers = new Map<string, JwsWriter>();
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
    for (const k of this.#keys)
      this.#writers.set(
        k.kid,
        new JwsWriter(keyObjectSigner(k.privateKey, k.alg, "file", k.kid), k.alg, k.kid),
      );
    this.#jwks = { keys: this.#keys.map((k) => publishedJwk(k.privateKey, k.alg, k.kid)) };
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

  sign(
    claims: Record<string, unknown>,
    typ: string,
    deadline: Deadline = NO_REQUEST_DEADLINE,
  ): Promise<string> {
    return (this.#writers.get(this.active().kid) as JwsWriter).sign(claims, typ, deadline);
  }
}
