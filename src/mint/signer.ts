import type { Deadline } from "../signing/jws.ts";

/**
 * Signs the broker's JWTs with its active key, wherever that key lives (signing/: a key file, AWS KMS, Cloud KMS,
 * or a KMS-certified instance key). Used by the JWT and AWS minters. Fails with BrokerError("unavailable") while a
 * KMS cannot be reached; `deadline` is the request's.
 */
export interface TokenSigner {
  /** Compact JWS over `claims`, header `{alg, kid, typ}`. */
  sign(claims: Record<string, unknown>, typ: string, deadline?: Deadline): Promise<string>;
  readonly issuer: string;
}
