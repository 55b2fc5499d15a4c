/**
 * One revoker per kind of credential the broker hands out (CONTRACT §10): broker JWTs, database passwords,
 * GitHub installation tokens. `POST /revoke` asks them in order until one says the token is its own.
 * A revoker whose upstream is down throws BrokerError("unavailable") (503 + Retry-After).
 */
export interface Revoker {
  readonly kind: string;
  revoke(token: string, hint: string | undefined): Promise<"revoked" | "not-mine">;
}
