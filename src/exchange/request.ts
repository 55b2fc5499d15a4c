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
}
