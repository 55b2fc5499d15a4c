import type { TokenRequest } from "../exchange/request.ts";
import { boundValue, CUT_MARK } from "./bounded.ts";
import type { AuditEvent, AuditedRequest } from "./event.ts";

/**
 * The `audit: {claims: true}` part of an event (CONTRACT §7): the verified claims and the request, which is all
 * `policy diff` needs to replay the decision. Never the token: claims pass the same bounding as every audit field
 * (a JWT-shaped value becomes its SHA-256). Claims that bounding would cut are left out whole instead: a replay of
 * a cut value would decide on a claim the broker never saw.
 */

/** Claims of subject and actor together stay under this, so one line stays under 16 KiB with the rest. */
export const CLAIMS_BUDGET_BYTES = 8 * 1024;

export interface ClaimsFieldInput {
  claims: Readonly<Record<string, unknown>>;
  actorClaims?: Readonly<Record<string, unknown>> | undefined;
  request: TokenRequest;
  decidedAt: number | undefined;
}

export function auditClaimsFields(
  i: ClaimsFieldInput,
): Pick<AuditEvent, "claims" | "actor_claims" | "claims_omitted" | "request"> {
  const request: AuditedRequest = { audience: i.request.audience };
  if (i.request.scopes !== null) request.scope = i.request.scopes.join(" ");
  if (i.request.sourceIp !== undefined) request.source_ip = i.request.sourceIp;
  if (i.request.clientId !== undefined) request.client_id = i.request.clientId;
  if (i.decidedAt !== undefined) request.time = new Date(i.decidedAt).toISOString();
  const claims = boundValue(i.claims) as Record<string, unknown>;
  const actor = i.actorClaims ? (boundValue(i.actorClaims) as Record<string, unknown>) : undefined;
  const text = JSON.stringify(claims) + (actor ? JSON.stringify(actor) : "");
  if (Buffer.byteLength(text) > CLAIMS_BUDGET_BYTES || text.includes(CUT_MARK))
    return { claims_omitted: "too_large", request };
  return { claims, ...(actor ? { actor_claims: actor } : {}), request };
}
