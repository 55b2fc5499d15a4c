import type { DecisionSubject } from "../policy/evaluate.ts";
import type { DecisionRequest } from "../policy/types.ts";

/**
 * One recorded /token request read back from an audit line written with `audit: {claims: true}`
 * (CONTRACT §7), as `policy diff` replays it: the verified identity and the request as the decision saw them.
 */
export interface ReplayRecord {
  requestId: string;
  sub: string;
  who: DecisionSubject;
  request: DecisionRequest;
}

/** Why a line cannot be replayed; counted and reported, never silently dropped. */
export type SkipReason =
  | "not_json"
  | "no_claims" // written without audit.claims, or the token never verified (nothing was decided)
  | "claims_too_large"
  | "malformed";

export type ReplayLine = { ok: true; record: ReplayRecord } | { ok: false; skip: SkipReason };

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);
const optionalString = (v: unknown) => v === undefined || typeof v === "string";

export function parseReplayLine(line: string): ReplayLine {
  let event: unknown;
  try {
    event = JSON.parse(line);
  } catch {
    return { ok: false, skip: "not_json" };
  }
  if (!isRecord(event)) return { ok: false, skip: "not_json" };
  // Left out by the broker (claims_omitted) or dropped by the 16 KiB line bound (truncated): not replayable.
  if (event.claims_omitted !== undefined || (event.truncated === true && event.claims === undefined))
    return { ok: false, skip: "claims_too_large" };
  const { claims, request, provider } = event;
  if (claims === undefined || request === undefined) return { ok: false, skip: "no_claims" };
  if (!isRecord(claims) || !isRecord(request) || typeof provider !== "string")
    return { ok: false, skip: "malformed" };
  const { audience, scope, source_ip, client_id, time } = request;
  if (
    typeof audience !== "string" ||
    !optionalString(scope) ||
    !optionalString(source_ip) ||
    !optionalString(client_id) ||
    !optionalString(time)
  ) {
    return { ok: false, skip: "malformed" };
  }
  const when = typeof time === "string" ? time : event.time;
  const now = typeof when === "string" ? Date.parse(when) : Number.NaN;
  if (Number.isNaN(now)) return { ok: false, skip: "malformed" };
  // The verified `sub` claim is the decision's subject (the event's `sub` field may be cut to its bound).
  const sub = typeof claims.sub === "string" ? claims.sub : typeof event.sub === "string" ? event.sub : "";
  return {
    ok: true,
    record: {
      requestId: typeof event.request_id === "string" ? event.request_id : "",
      sub,
      who: { provider, subject: sub, claims },
      request: {
        audience,
        scopes: typeof scope === "string" ? scope.split(" ").filter(Boolean) : null,
        sourceIp: source_ip as string | undefined,
        now,
        clientId: client_id as string | undefined,
      },
    },
  };
}
