import { randomUUID } from "node:crypto";
import type { Grant } from "../policy/types.ts";
import type { Clock } from "../util/clock.ts";
import type { TokenSigner } from "./signer.ts";
import type { IssuedToken, MintContext, Minter } from "./types.ts";
import { TOKEN_TYPE } from "./types.ts";

/** 122 random bits from a pooled CSPRNG (cheaper per call than randomBytes). */
export const newJti = (): string => randomUUID();

/** Broker-signed access tokens in the RFC 9068 JWT profile. */
export function createJwtMinter(signer: TokenSigner, clock: Clock): Minter {
  return {
    kind: "jwt",
    async mint(grant: Grant, ctx: MintContext): Promise<IssuedToken> {
      const iat = Math.floor(clock() / 1000);
      const jti = newJti();
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
      };
      if (grant.scopes.length > 0) claims.scope = grant.scopes.join(" ");
      return {
        // RFC 9068 §2.1: typ "at+jwt" tells resource servers this is an access token, not an ID token.
        accessToken: await signer.sign(claims, "at+jwt", ctx.signal),
        issuedTokenType: TOKEN_TYPE.accessToken,
        tokenType: "Bearer",
        expiresIn: grant.ttl,
        ...(grant.scopes.length > 0 ? { scope: grant.scopes.join(" ") } : {}),
        jti,
      };
    },
  };
}
