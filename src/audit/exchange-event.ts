import { BrokerError } from "../errors.ts";
import type { GrantType, TokenRequest } from "../exchange/request.ts";
import type { ExchangeTrail } from "../exchange/service.ts";
import { sha256Hex } from "../util/hash.ts";
import type { AuditEvent } from "./event.ts";

export interface ExchangeOutcome {
  requestId: string;
  /** performance.now() at the request's arrival. */
  started: number;
  status: number;
  grant: GrantType | undefined;
  request: TokenRequest | undefined;
  trail: ExchangeTrail;
  failure: unknown;
  sourceIp: string | undefined;
}

/** The CONTRACT §7 audit event of one /token request, from whatever the exchange got to. */
export function exchangeAuditEvent(o: ExchangeOutcome): AuditEvent {
  const { requestId, started, status, grant, request, trail, failure, sourceIp } = o;
  const decision = trail.decision;
  const g = decision?.allow ? decision.grant : undefined;
  const err = failure instanceof BrokerError ? failure : undefined;
  const event: AuditEvent = {
    time: new Date().toISOString(),
    request_id: requestId,
    decision:
      status === 200
        ? "allow"
        : err && err.kind !== "server_error" && err.kind !== "unavailable"
          ? "deny"
          : "error",
    reason: status === 200 ? "granted" : status === 413 ? "request.too_large" : (err?.reason ?? "internal"),
    status,
    latency_ms: Math.round((performance.now() - started) * 1000) / 1000,
  };
  if (err) event.error = err.kind;
  if (grant) event.grant_type = grant;
  if (request) {
    event.audience = request.audience;
    event.subject_token_sha256 = trail.identity?.tokenSha256 ?? sha256Hex(request.subjectToken);
  }
  if (sourceIp) event.source_ip = sourceIp;
  if (trail.claimedProvider)
    Object.assign(event, { provider: trail.claimedProvider.name, iss: trail.claimedProvider.issuer });
  const id = trail.identity;
  if (id) {
    Object.assign(event, {
      provider: id.provider,
      iss: id.issuer,
      sub: id.subject,
      subject_token_sha256: id.tokenSha256,
    });
  }
  if (g)
    Object.assign(event, { policy: g.policy, target_kind: g.target.kind, scopes: g.scopes, lifetime: g.ttl });
  if (trail.issued) {
    event.lifetime = trail.issued.expiresIn;
    if (trail.issued.jti) event.jti = trail.issued.jti;
  }
  if (decision) event.trace = decision.trace;
  return event;
}
