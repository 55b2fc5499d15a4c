/** What the identity stage hands to the decision stage: a token whose signature and claims held. */
export interface VerifiedIdentity {
  /** Name of the configured provider whose keys verified the token. */
  provider: string;
  issuer: string;
  subject: string;
  /** The token's payload, exactly as signed (never normalised). */
  claims: Readonly<Record<string, unknown>>;
  jti: string | undefined;
  /** `exp` in epoch seconds. */
  expiresAt: number;
  /** SHA-256 (hex) of the compact token, for audit and replay keys; never the token itself. */
  tokenSha256: string;
}

/** A configured provider by name and issuer: what audit and metrics may say about an unverified token. */
export interface ProviderRef {
  name: string;
  issuer: string;
}

/** The verify stage's result: the identity, or the failure plus the provider the token named (if configured). */
export type Verification =
  | { ok: true; identity: VerifiedIdentity }
  | { ok: false; error: unknown; provider?: ProviderRef };

/**
 * Validates a service-account token through the Kubernetes TokenReview API, for clusters whose issuer is not
 * publicly reachable (CONTRACT §4 `providers[].kubernetes.tokenReview`). Implemented by an adapter in
 * identity/token-review.ts; the verifier calls it after the token's local shape checks.
 */
export interface TokenReviewer {
  review(token: string, audiences: readonly string[], signal: AbortSignal): Promise<TokenReviewResult>;
}

export interface TokenReviewResult {
  authenticated: boolean;
  /** `system:serviceaccount:<ns>:<name>` when authenticated. */
  username?: string;
  uid?: string;
  audiences?: string[];
}
