/** The three grants of CONTRACT §2 that all present a JWT as "the subject token". */
export const GRANT = {
  tokenExchange: "urn:ietf:params:oauth:grant-type:token-exchange",
  jwtBearer: "urn:ietf:params:oauth:grant-type:jwt-bearer",
  clientCredentials: "client_credentials",
} as const;

export type GrantType = (typeof GRANT)[keyof typeof GRANT];

export const CLIENT_ASSERTION_TYPE_JWT = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/** A /token request after wire parsing: every parameter checked for presence, repetition and syntax. */
export interface TokenRequest {
  grantType: GrantType;
  subjectToken: string;
  /** The target name from `audience` or `resource`. */
  audience: string;
  scopes: string[] | null;
  requestedTokenType: string | undefined;
  clientId: string | undefined;
  sourceIp: string | undefined;
  /** RFC 8693 §2.1 `actor_token` (token exchange only): who acts for the subject. */
  actorToken?: string | undefined;
  /** The `DPoP` header (RFC 9449 §4), unverified. */
  dpopProof?: string | undefined;
  /** draft-ietf-oauth-transaction-tokens §11.1 `request_context` / `request_details`, parsed JSON objects. */
  requestContext?: Record<string, unknown> | undefined;
  requestDetails?: Record<string, unknown> | undefined;
}
