import { BrokerError } from "../errors.ts";
import type { ExchangeOutcome } from "../exchange/outcome.ts";
import type { GrantType, TokenRequest } from "../exchange/request.ts";
import { sha256Hex } from "../util/hash.ts";
import { auditClaimsFields } from "./claims-field.ts";
import type { AuditEvent } from "./event.ts";

/** One /token request as the route saw it: what was parsed, and the exchange's outcome. */
export interface TokenRequestRecord {
  requestId: string;
  /** performance.now() at the request's arrival. */
  started: number;
  status: number;
  grant: GrantType | undefined;
  request: TokenRequest | undefined;
  outcome: ExchangeOutcome;
  sourceIp: string | undefined;
  /** `audit.claims`: add the verified claims and the request (CONTRACT §7). */
  withClaims?: boolean;
}

/** The CONTRACT §7 audit event of one /token request, from whatever the exchange got to. */
export function exchangeAuditEvent(r: TokenRequestRecord): AuditEvent {
  const { requestId, started, status, grant, request, outcome, sourceIp } = r;
  const decision = outcome.decision;
  const g = decision?.allow ? decision.grant : undefined;
  const err = !outcome.ok && outcome.error instanceof BrokerError ? outcome.error : undefined;
  const event: AuditEvent = {
    time: new Date().toISOString(),
    request_id: requestId,
    decision: outcome.ok
      ? "allow"
      : err && err.kind !== "server_error" && err.kind !== "unavailable"
        ? "deny"
        : "error",
    reason: outcome.ok ? "granted" : (err?.reason ?? "internal"),
    status,
    latency_ms: Math.round((performance.now() - started) * 1000) / 1000,
  };
  if (err) event.error = err.kind;
  if (grant) event.grant_type = grant;
  if (request) {
    event.audience = request.audience;
    event.subject_token_sha256 = outcome.identity?.tokenSha256 ?? sha256Hex(request.subjectToken);
  }
  if (sourceIp) event.source_ip = sourceIp;
  if (outcome.provider)
    Object.assign(event, { provider: outcome.provider.name, iss: outcome.provider.issuer });
  const id = outcome.identity;
  if (id) Object.assign(event, { sub: id.subject });
  if (request?.actorToken !== undefined)
    event.actor_token_sha256 = outcome.actor?.tokenSha256 ?? sha256Hex(request.actorToken);
  if (outcome.actor)
    Object.assign(event, { actor_iss: outcome.actor.issuer, actor_sub: outcome.actor.subject });
  if (outcome.dpopJkt) event.dpop_jkt = outcome.dpopJkt;
  if (g)
    Object.assign(event, { policy: g.policy, target_kind: g.target.kind, scopes: g.scopes, lifetime: g.ttl });
  if (outcome.ok) {
    event.lifetime = outcome.issued.expiresIn;
    if (outcome.issued.jti) event.jti = outcome.issued.jti;
  }
  if (decision) event.trace = decision.trace;
  if (r.withClaims && id && request)
    Object.assign(event, auditClaimsFields({ claims: id.claims, request, decidedAt: outcome.decidedAt }));
  return event;
}
