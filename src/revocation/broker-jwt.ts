import type { BrokerTokenVerifier } from "../identity/broker-token.ts";
import type { DenyList } from "./deny-list.ts";
import type { Revoker } from "./types.ts";

/**
 * Broker-signed JWTs (CONTRACT §10): the jti goes on the deny-list until the token's `exp`. Only a token the
 * broker really signed is "mine" — a forged token cannot deny-list someone else's jti. An expired one needs no
 * entry: nothing accepts it any more.
 */
export function brokerJwtRevoker(
  tokens: BrokerTokenVerifier,
  denyList: DenyList,
  now: () => number,
): Revoker {
  return {
    kind: "broker-jwt",
    async revoke(token) {
      const check = tokens.authentic(token);
      if (!check.ok) return "not-mine";
      if (check.token.exp > now()) await denyList.revoke(check.token.jti, check.token.exp);
      return "revoked";
    },
  };
}
