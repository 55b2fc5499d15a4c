import type { Reason } from "../reasons.ts";
import type { AuditEvent } from "./event.ts";

/** What one /introspect or /revoke request learned, for its CONTRACT §7 audit line. */
export interface LifecycleOutcome {
  endpoint: "/introspect" | "/revoke";
  requestId: string;
  /** performance.now() at arrival. */
  started: number;
  status: number;
  reason: Reason;
  sourceIp: string | undefined;
  /** SHA-256 of the token asked about (never the token). */
  tokenSha256?: string;
  /** Claims of that token when it is a broker JWT the broker verified. */
  token?: Readonly<Record<string, unknown>>;
  /** The introspecting resource server: its broker JWT's sub and client_id. */
  caller?: { sub: unknown; clientId: unknown };
  /** Which revoker recognised the token. */
  revoker?: string;
  active?: boolean;
}

const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

export function lifecycleAuditEvent(o: LifecycleOutcome): AuditEvent {
  const event: AuditEvent = {
    time: new Date().toISOString(),
    request_id: o.requestId,
    endpoint: o.endpoint,
    decision: o.status < 400 ? "allow" : o.status >= 500 ? "error" : "deny",
    reason: o.reason,
    status: o.status,
    latency_ms: Math.round((performance.now() - o.started) * 1000) / 1000,
  };
  if (o.sourceIp) event.source_ip = o.sourceIp;
  if (o.tokenSha256) event.token_sha256 = o.tokenSha256;
  if (o.revoker) event.revoker = o.revoker;
  if (o.active !== undefined) event.active = o.active;
  if (o.caller) {
    const sub = str(o.caller.sub);
    const clientId = str(o.caller.clientId);
    if (sub) event.caller_sub = sub;
    if (clientId) event.caller_client_id = clientId;
  }
  const t = o.token;
  if (t) {
    const iss = str(t.iss);
    const sub = str(t.sub);
    const jti = str(t.jti);
    const policy = str(t.client_id);
    if (iss) event.iss = iss;
    if (sub) event.sub = sub;
    if (jti) event.jti = jti;
    if (policy) event.policy = policy;
  }
  return event;
}
