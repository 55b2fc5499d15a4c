import type { Context } from "hono";
import { GRANT } from "../../exchange/request.ts";
import { AWS_SOURCE_IDENTITY_CLAIM, AWS_TAGS_CLAIM } from "../../mint/aws-claims.ts";
import { RESERVED_CLAIMS } from "../../policy/schema.ts";
import type { AppDeps, AppEnv } from "../deps.ts";
import { json } from "../respond.ts";

/** RFC 8414 metadata (and the OpenID Provider Metadata cloud IAM reads when it trusts the broker's JWTs). */
function metadata(deps: AppDeps) {
  const issuer = deps.issuer;
  const base = issuer.endsWith("/") ? issuer.slice(0, -1) : issuer;
  const assertionAlgs = [...new Set(deps.providers().flatMap((p) => p.algorithms))].sort();
  return {
    // RFC 8414 §3.3: issuer MUST be identical to the configured issuer.
    issuer,
    token_endpoint: `${base}/token`,
    jwks_uri: `${base}/jwks`,
    grant_types_supported: [GRANT.tokenExchange, GRANT.jwtBearer, GRANT.clientCredentials],
    // Token exchange and jwt-bearer need no client authentication; client_credentials authenticates with a JWT.
    token_endpoint_auth_methods_supported: ["none", "private_key_jwt"],
    // RFC 8414 §2: required when private_key_jwt is listed.
    token_endpoint_auth_signing_alg_values_supported: assertionAlgs,
    scopes_supported: deps.policies().scopesSupported(),
    // RFC 8414 §2 endpoints of the token lifecycle (CONTRACT §10).
    introspection_endpoint: `${base}/introspect`,
    revocation_endpoint: `${base}/revoke`,
    introspection_endpoint_auth_methods_supported: ["bearer"],
    revocation_endpoint_auth_methods_supported: ["none"],
    // RFC 9449 §5.1.
    dpop_signing_alg_values_supported: deps.dpop.algorithms,
    response_types_supported: ["id_token"],
  };
}

export function oauthMetadataRoute(deps: AppDeps) {
  return (c: Context<AppEnv>) => json(c, metadata(deps));
}

/** OpenID Connect Discovery 1.0 §3: what AWS IAM OIDC providers and GCP workload identity pools read. */
export function openidConfigurationRoute(deps: AppDeps) {
  return (c: Context<AppEnv>) => {
    const claims = new Set<string>(RESERVED_CLAIMS);
    for (const name of deps.policies().grantedClaims()) claims.add(name);
    claims.add(AWS_TAGS_CLAIM);
    claims.add(AWS_SOURCE_IDENTITY_CLAIM);
    return json(c, {
      ...metadata(deps),
      id_token_signing_alg_values_supported: [
        ...new Set(
          deps
            .keys()
            .jwks()
            .keys.map((k) => k.alg as string),
        ),
      ],
      subject_types_supported: ["public"],
      claims_supported: [...claims].sort(),
    });
  };
}

export function jwksRoute(deps: AppDeps) {
  return async (c: Context<AppEnv>) => {
    const keys = deps.keys();
    await keys.refresh?.();
    return json(c, keys.jwks());
  };
}
