/** Signs JWTs with the broker's active key. Implemented by mint/keys.ts; used by the JWT and AWS minters. */
export interface TokenSigner {
  /** Compact JWS over `claims`, header `{alg, kid, typ}`. */
  sign(claims: Record<string, unknown>, typ: string): string;
  readonly issuer: string;
}
