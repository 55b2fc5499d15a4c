import { randomUUID } from "node:crypto";
import type { Grant } from "../policy/types.ts";
import type { Clock } from "../util/clock.ts";
import type { TokenSigner } from "./signer.ts";
import { txnTokenClaims } from "./txn-token.ts";
import type { IssuedToken, MintContext, Minter } from "./types.ts";
import { TOKEN_TYPE } from "./types.ts";

/** 122 random bits from a pooled CSPRNG (cheaper per call than randomBytes). */
export const newJti = (): string => randomUUID();

/** Broker-signed access tokens in the RFC 9068 JWT profile, and Transaction Tokens for trust domains. */
export function createJwtMinter(signer: TokenSigner, clock: Clock): Minter {
  return {
    kind: "jwt",
    async mint(grant: Grant, ctx: MintContext): Promise<IssuedToken> {
      const iat = Math.floor(clock() / 1000);
      const jti = newJti();
      const scope = grant.scopes.length > 0 ? { scope: grant.scopes.join(" ") } : {};
      if (grant.txnToken) {
        const claims = txnTokenClaims(grant, signer.issuer, iat, jti, ctx.transaction);
        return {
          // draft-ietf-oauth-transaction-tokens §9.1: typ txntoken+jwt; §11.4: token_type N_A, no refresh token.
          accessToken: await signer.sign(claims, "txntoken+jwt", ctx),
          issuedTokenType: TOKEN_TYPE.txnToken,
          tokenType: "N_A",
          expiresIn: grant.ttl,
          ...scope,
          jti,
        };
      }
      // RFC 9068 §2.2: iss, exp, aud, sub, client_id, iat, jti are required; scope when scopes were granted.
      // Templated claims go first so that no template can shadow a registered claim.
      const claims: Record<string, unknown> = {
        ...grant.claims,
        iss: signer.issuer,
        sub: grant.subject,
        aud: grant.target.audience,
        client_id: grant.policy,
        iat,
        nbf: iat,
        exp: iat + grant.ttl,
        jti,
        ...scope,
        // RFC 8693 §4.1: the actor chain, the current actor outermost.
        ...(grant.act === undefined ? {} : { act: grant.act }),
        // RFC 9449 §6.1: bound to the DPoP proof key.
        ...(ctx.confirmation === undefined ? {} : { cnf: { jkt: ctx.confirmation.jkt } }),
      };
      return {
        // RFC 9068 §2.1: typ "at+jwt" tells resource servers this is an access token, not an ID token.
        accessToken: await signer.sign(claims, "at+jwt", ctx),
        issuedTokenType: TOKEN_TYPE.accessToken,
        // RFC 9449 §5: a DPoP-bound token is of type DPoP.
        tokenType: ctx.confirmation === undefined ? "Bearer" : "DPoP",
        expiresIn: grant.ttl,
        ...scope,
        jti,
      };
    },
  };
}
