import type { Grant, TargetKind } from "../policy/types.ts";

/** RFC 8693 §2.2.1 response members, camelCased past the edge. */
export interface IssuedToken {
  accessToken: string;
  issuedTokenType: string;
  tokenType: string;
  /** Whole seconds. */
  expiresIn: number;
  scope?: string;
  /** The issued token's identifier, for audit (broker JWT jti, AWS access key id, …). */
  jti?: string;
}

export interface MintContext {
  requestId: string;
  /** Aborts when the request deadline passes. */
  signal: AbortSignal;
  /** Epoch milliseconds. */
  now: number;
  /** RFC 9449 §6: the DPoP proof key's thumbprint; the broker JWT is bound to it (`cnf.jkt`). */
  confirmation?: { jkt: string } | undefined;
  /** What a Transaction Token's `rctx` and `tctx` are built from (draft-ietf-oauth-transaction-tokens §11.3). */
  transaction?: TransactionInputs | undefined;
}

export interface TransactionInputs {
  sourceIp: string | undefined;
  requestContext: Record<string, unknown> | undefined;
  requestDetails: Record<string, unknown> | undefined;
}

/**
 * One minter per target kind. Failures are BrokerErrors: an upstream throttling or down → `unavailable`
 * (503 with Retry-After), an upstream refusing the target → `invalid_target`; never an upstream message.
 */
export interface Minter {
  readonly kind: TargetKind;
  mint(grant: Grant, ctx: MintContext): Promise<IssuedToken>;
}

export const TOKEN_TYPE = {
  accessToken: "urn:ietf:params:oauth:token-type:access_token",
  jwt: "urn:ietf:params:oauth:token-type:jwt",
  idToken: "urn:ietf:params:oauth:token-type:id_token",
  awsCredentials: "urn:wif-broker:token-type:aws-credentials",
  /** CONTRACT §8 `aws.rdsAuthToken`: the access token is an RDS IAM auth token (a database password). */
  rdsAuthToken: "urn:wif-broker:token-type:rds-auth-token",
  /** CONTRACT §3: the access token is the database credentials document (JSON). */
  databaseCredentials: "urn:wif-broker:token-type:database-credentials",
  /** draft-ietf-oauth-transaction-tokens §11.1 */
  txnToken: "urn:ietf:params:oauth:token-type:txn_token",
} as const;
