import type { Reason } from "./reasons.ts";

/**
 * Protocol failures as one discriminated set of kinds. Programmer mistakes throw TypeError; everything a
 * client or an upstream can cause is a BrokerError, mapped to the wire in one place (http/oauth-error.ts).
 */
export type ErrorKind =
  /** malformed request: missing/repeated parameter, wrong content type, unsupported token type */
  | "invalid_request"
  | "unsupported_grant_type"
  /** CONTRACT §2: a /token body over 64 KiB → 413 */
  | "too_large"
  /** the presented JWT is invalid or admitted by no policy; its wire code depends on the grant type */
  | "bad_subject_token"
  /** client authentication (RFC 7523 §2.2 client assertion) is missing or of the wrong type */
  | "invalid_client"
  | "invalid_target"
  | "invalid_scope"
  /** RFC 9449 §5: a DPoP proof that is malformed, replayed or for another request */
  | "invalid_dpop_proof"
  /** RFC 9449 §8: the proof must carry the server's current nonce (sent in DPoP-Nonce) */
  | "use_dpop_nonce"
  | "rate_limited"
  /** an upstream (IdP keys, AWS, GCP, Kubernetes, Redis) is unavailable */
  | "unavailable"
  | "server_error";

export interface BrokerErrorOptions {
  /** Stable machine-readable reason for audit and metrics, from the one table in reasons.ts. */
  reason: Reason;
  /** The failing check, safe to show when `errors.verbose` is on: names checks, never claim values or tokens. */
  detail?: string;
  /** Seconds, for 429/503. */
  retryAfter?: number;
  /**
   * The value of the client's own request that was refused (its audience, or its scopes), which the description
   * names; never a claim or a token.
   */
  refused?: string;
  cause?: unknown;
}

export class BrokerError extends Error {
  readonly kind: ErrorKind;
  readonly reason: Reason;
  readonly detail: string | undefined;
  readonly retryAfter: number | undefined;
  readonly refused: string | undefined;

  constructor(kind: ErrorKind, opts: BrokerErrorOptions) {
    super(`${kind}: ${opts.reason}`, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = "BrokerError";
    this.kind = kind;
    this.reason = opts.reason;
    this.detail = opts.detail;
    this.retryAfter = opts.retryAfter;
    this.refused = opts.refused;
  }
}

/** Shorthand for the most common failure: the subject token does not hold. */
export const badToken = (reason: Reason, detail?: string): BrokerError =>
  new BrokerError("bad_subject_token", detail === undefined ? { reason } : { reason, detail });
