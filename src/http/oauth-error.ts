import { BrokerError, type ErrorKind } from "../errors.ts";
import { GRANT, type GrantType } from "../exchange/request.ts";

export interface WireError {
  status: 400 | 401 | 413 | 429 | 500 | 503;
  error: string;
  description: string;
  retryAfter?: number;
}

/** Generic descriptions: they never echo claims, tokens or upstream messages. */
const DESCRIPTION: Record<ErrorKind, string> = {
  invalid_request: "the request is malformed",
  unsupported_grant_type: "the grant type is not supported",
  too_large: "request body exceeds 64 KiB",
  bad_subject_token: "the presented token is invalid or not admitted by any policy",
  invalid_client: "client authentication failed",
  invalid_target: "the identity may not obtain a token for the requested target",
  invalid_scope: "a requested scope is not allowed for this target",
  invalid_dpop_proof: "the DPoP proof is invalid",
  use_dpop_nonce: "the DPoP proof must carry the nonce of the DPoP-Nonce header",
  rate_limited: "too many requests for this identity; retry later",
  unavailable: "a service the broker depends on is unavailable; retry later",
  server_error: "the broker failed to process the request",
};

/** What the client asked for, as parsed: a refused audience or scope is named from here when the error does not. */
export interface RequestedTarget {
  audience: string;
  scopes: readonly string[] | null;
}

/** Descriptions that name the refused value of the client's own request (RFC 6749 §5.2 error_description). */
const NAMING: Partial<Record<ErrorKind, (quoted: string) => string>> = {
  invalid_target: (target) => `the identity may not obtain a token for the target ${target}`,
  invalid_scope: (scope) => `scope ${scope} is not allowed for this target`,
};

/** A request value quoted for a description: control and format characters dropped, at most 100 characters. */
export function quoteRequested(value: string): string {
  const chars = [...value.replace(/[\p{Cc}\p{Cf}]/gu, "")];
  return JSON.stringify(chars.length > 100 ? `${chars.slice(0, 100).join("")}…` : chars.join(""));
}

function refusedValue(e: BrokerError, requested: RequestedTarget | undefined): string | undefined {
  if (e.refused !== undefined) return e.refused;
  if (e.kind === "invalid_target") return requested?.audience;
  if (e.kind === "invalid_scope") return requested?.scopes?.join(" ");
  return undefined;
}

/** CONTRACT §2's grant table: the same bad token is reported per the grant's own RFC. */
function badTokenCode(grant: GrantType | undefined): Pick<WireError, "status" | "error"> {
  // RFC 7523 §3.1: an invalid assertion grant → invalid_grant.
  if (grant === GRANT.jwtBearer) return { status: 400, error: "invalid_grant" };
  // RFC 7523 §3.2 / RFC 6749 §5.2: a client assertion that fails → 401 invalid_client.
  if (grant === GRANT.clientCredentials) return { status: 401, error: "invalid_client" };
  // RFC 8693 §2.2.2: an invalid subject_token → invalid_request.
  return { status: 400, error: "invalid_request" };
}

function code(kind: ErrorKind, grant: GrantType | undefined): Pick<WireError, "status" | "error"> {
  switch (kind) {
    case "bad_subject_token":
      return badTokenCode(grant);
    case "invalid_client":
      return { status: 401, error: "invalid_client" };
    case "rate_limited":
      return { status: 429, error: "temporarily_unavailable" };
    case "unavailable":
      return { status: 503, error: "temporarily_unavailable" };
    case "server_error":
      return { status: 500, error: "server_error" };
    case "too_large":
      return { status: 413, error: "invalid_request" };
    default:
      return { status: 400, error: kind };
  }
}

/** The one place a failure becomes a response. Anything that is not a BrokerError is a 500 without details. */
export function toWireError(
  err: unknown,
  grant: GrantType | undefined,
  requestId: string,
  verbose: boolean,
  requested?: RequestedTarget,
): WireError {
  const e = err instanceof BrokerError ? err : new BrokerError("server_error", { reason: "internal" });
  const refused = refusedValue(e, requested);
  const name = NAMING[e.kind];
  const base = name && refused ? name(quoteRequested(refused)) : DESCRIPTION[e.kind];
  // Said once: a detail that repeats the description adds nothing.
  const detail = verbose && e.detail && !base.includes(e.detail) ? `: ${e.detail}` : "";
  const wire: WireError = {
    ...code(e.kind, grant),
    description: `${base}${detail} (request id ${requestId})`,
  };
  if (e.kind === "rate_limited" || e.kind === "unavailable") wire.retryAfter = e.retryAfter ?? 1;
  return wire;
}
