import type { UpstreamTarget } from "./upstream/errors.ts";

/**
 * Every reason code an exchange can end with (CONTRACT §7 audit `reason`), in one table. Audit events and logs
 * carry these verbatim and dashboards key on them, so each is a stable wire name: add, never rename. The value is
 * what the code means, for a reader of an audit line.
 */
export const REASONS = {
  granted: "a credential was issued",
  internal: "an unexpected failure (the operational log has it under the request id)",

  "request.content_type": "the body is not application/x-www-form-urlencoded",
  "request.too_large": "the body exceeds 64 KiB",
  "request.too_many_parameters": "more distinct parameters than any grant defines",
  "request.parameter_too_long": "a parameter exceeds its length bound (2 KiB; tokens 16 KiB)",
  "request.repeated_parameter": "a single-valued parameter appears twice",
  "request.missing_parameter": "a required parameter is missing or empty",
  "request.unsupported_grant_type": "grant_type is none of the three supported grants",
  "request.unsupported_token_type": "subject_token_type or requested_token_type is not supported",
  "request.actor_token": "an actor token was sent with a grant other than token exchange",
  "request.request_context": "request_context is not a JSON object of at most 4 KiB",
  "request.request_details": "request_details is not a JSON object of at most 4 KiB",
  "request.transaction_parameters":
    "request_context or request_details without requested_token_type txn_token",
  "request.invalid_resource": "resource is not an absolute URI without a fragment",
  "request.missing_target": "neither audience nor resource was sent",
  "request.multiple_targets": "audience and resource name more than one target",
  "request.malformed_scope": "scope is not a list of scope tokens",
  "client.authentication": "client_credentials without a JWT client assertion",

  "jwt.too_large": "the subject token exceeds 16 KiB",
  "jwt.malformed": "not a compact JWS of JSON objects in canonical base64url",
  "jwt.encrypted": "a JWE was presented",
  "jwt.unsigned": "the token carries no signature",
  "jwt.embedded_key": "the header carries a key or key URL (jku, x5u, jwk, x5c)",
  "jwt.crit": "the header lists a critical extension",
  "jwt.b64": "the header asks for an unencoded payload",
  "jwt.unknown_issuer": "no configured provider has this issuer",
  "jwt.alg_not_allowed": "alg is not on the provider's allowlist",
  "jwt.unknown_key": "no key of the provider matches kid and alg",
  "jwt.bad_signature": "the signature does not verify",
  "jwt.iss_mismatch": "iss differs from the provider's issuer",
  "jwt.exp_missing": "exp is missing",
  "jwt.exp_invalid": "exp is not a number",
  "jwt.expired": "the token has expired",
  "jwt.nbf_invalid": "nbf is not a number",
  "jwt.not_yet_valid": "nbf is in the future",
  "jwt.iat_invalid": "iat is not a number",
  "jwt.iat_future": "iat is in the future",
  "jwt.aud_invalid": "aud is not a string or a list of strings",
  "jwt.aud_mismatch": "no aud is accepted by the provider",
  "jwt.sub_invalid": "sub is missing or not a non-empty string",
  "jwt.jti_invalid": "jti is not a string",
  "jwt.jti_missing": "a single-use policy admitted a token without jti",
  "jwt.replayed": "a single-use token was already exchanged",
  "jwt.review_rejected": "TokenReview did not authenticate the token",
  "jwt.review_mismatch": "TokenReview named another user than sub",
  "jwt.revoked": "a broker JWT presented back to /token was revoked (RFC 7009)",
  "jwt.txn_token_as_subject": "a Transaction Token was presented as a subject token",

  "dpop.unsupported": "a DPoP proof was sent but DPoP is not configured",
  "dpop.malformed": "the DPoP header is not exactly one compact JWS",
  "dpop.typ": "the proof's typ is not dpop+jwt",
  "dpop.alg": "the proof's alg is not an allowed asymmetric algorithm",
  "dpop.jwk": "the proof carries no jwk header",
  "dpop.jwk_private": "the proof's jwk holds a private or symmetric key",
  "dpop.signature": "the proof's signature does not verify with its jwk",
  "dpop.jti": "the proof's jti is missing or too long",
  "dpop.iat": "the proof's iat is missing or outside ±60 s",
  "dpop.htm": "the proof's htm is not the request method",
  "dpop.htu": "the proof's htu is not the endpoint it was sent to",
  "dpop.ath": "the proof's ath is not the hash of the access token it came with (RFC 9449 §4.3 check 12)",
  "dpop.nonce": "the proof lacks the server's current nonce (use_dpop_nonce)",
  "dpop.replayed": "the proof's jti was already used (on any instance)",
  "dpop.key_mismatch": "the subject or access token is bound (cnf.jkt) to another key than the proof's",

  "policy.no_match": "no policy admits the identity",
  "policy.template_claim_missing": "a grant template names a claim the token lacks",
  "policy.target_not_allowed": "the admitting policy does not grant the requested target",
  "policy.scope_not_allowed": "a requested scope is not granted for the target",
  "policy.actor_not_admitted":
    "delegation refused: no actors entry admits the actor, may_act or the chain depth",
  "policy.token_type_not_issued":
    "the target does not issue the requested token type (Transaction Token or not)",
  "policy.dpop_required": "the target requires a DPoP proof and the request has none",
  "policy.rate_limited": "the policy's rate limit for this subject is exhausted",
  "target.unconfigured": "the grant's target kind has no minter configured",

  "jwks.unavailable": "the issuer's keys cannot be fetched and none are cached",
  "tokenreview.unavailable": "the Kubernetes API did not answer a TokenReview",
  "store.unavailable": "the replay or rate-limit store is unreachable",
  "aws.session_name_invalid": "the templated RoleSessionName breaks an STS rule",
  "aws.session_tags_invalid": "templated session tags break an STS rule",
  "aws.source_identity_invalid": "the templated SourceIdentity breaks an STS rule",
  "aws.session_policy_invalid": "the session policy breaks an STS rule",
  "kubernetes.unknown_cluster": "the grant names a cluster that is not configured",
  "upstream.kubernetes.token_review_refused": "the broker may not create TokenReviews",
  "signing.kms.unusable_key": "the configured KMS key cannot sign with the configured algorithm",
  "signing.kms.unavailable": "the KMS key that certifies instance keys is not loaded yet",
  "signing.certify_failed": "no certified signing key could be made (KMS or store unreachable)",
  "github.no_installation": "the GitHub App is not installed for the target's owner",
  "github.token_wider_than_asked": "GitHub granted more than the policy allows; the token was revoked",
  "github.app_key_unusable": "the GitHub App key is not an RSA key (RS256)",

  "introspect.answered": "an introspection answer was given",
  "introspect.no_bearer": "the introspecting caller sent no bearer token",
  "introspect.bearer_not_for_broker": "the caller's token is not a broker access token for the broker",
  "introspect.bearer_malformed": "the caller's bearer token is malformed",
  "introspect.bearer_foreign": "the caller's bearer token was not issued by this broker",
  "introspect.bearer_bad_signature": "the caller's bearer token signature does not verify",
  "introspect.bearer_expired": "the caller's bearer token has expired",
  "introspect.bearer_not_yet_valid": "the caller's bearer token is not valid yet",
  "introspect.bearer_revoked": "the caller's bearer token was revoked",
  "introspect.dpop_unbound": "the caller used the DPoP scheme with a token that is not DPoP-bound",
  "introspect.dpop_no_proof": "the caller used the DPoP scheme without a DPoP proof",
  "introspect.insufficient_scope": "the caller's token lacks the introspection scope",
  "introspect.inactive_malformed": "the token asked about is malformed",
  "introspect.inactive_foreign": "the token asked about was not issued by this broker",
  "introspect.inactive_bad_signature": "the token asked about has a bad signature",
  "introspect.inactive_expired": "the token asked about has expired",
  "introspect.inactive_not_yet_valid": "the token asked about is not valid yet",
  "introspect.inactive_revoked": "the token asked about was revoked",
  "revoke.revoked": "a revoker recognised and revoked the token",
  "revoke.unknown_token": "no revoker recognised the token (RFC 7009 §2.2: still 200)",

  "database.unavailable": "the target database cannot be reached or went away mid-statement",
  "database.refused": "the target database refused to create the lease (the error code is in the detail)",
  "lease.created": "a database login was created for its lease",
  "lease.revoked.expired": "the reaper revoked a database login whose lease expired",
  "lease.revoked.revoke": "POST /revoke with its password revoked a database login",
} as const;

/** How an upstream call ended when it failed: one family per upstream target (upstream/errors.ts). */
export const UPSTREAM_REASONS = {
  unavailable: "the upstream is throttling, down or past the request deadline (503)",
  refused: "the upstream refused the target: permission, not found or invalid input",
  error: "the upstream failed otherwise, including rejecting the broker's own credentials",
} as const;

/** An actor token that fails verification (RFC 8693 §2.1) carries the jwt.* reason of its failure, prefixed. */
export type ActorReason = `actor.${Extract<keyof typeof REASONS, `jwt.${string}`>}`;

export type Reason =
  | keyof typeof REASONS
  | `upstream.${UpstreamTarget}.${keyof typeof UPSTREAM_REASONS}`
  | ActorReason;
