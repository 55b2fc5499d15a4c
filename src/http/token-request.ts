import { BrokerError } from "../errors.ts";
import { CLIENT_ASSERTION_TYPE_JWT, GRANT, type GrantType, type TokenRequest } from "../exchange/request.ts";
import { TOKEN_TYPE } from "../mint/types.ts";
import { SCOPE_TOKEN } from "../policy/schema.ts";
import type { Reason } from "../reasons.ts";
import type { Form } from "./form.ts";

const invalid = (reason: Reason, detail: string) => new BrokerError("invalid_request", { reason, detail });

/** RFC 8693 §3: the subject token types a JWT may be presented as. */
const SUBJECT_TOKEN_TYPES: readonly string[] = [TOKEN_TYPE.jwt, TOKEN_TYPE.idToken];

export function parseGrantType(form: Form): GrantType {
  const grant = form.required("grant_type");
  if (grant === GRANT.tokenExchange || grant === GRANT.jwtBearer || grant === GRANT.clientCredentials)
    return grant;
  throw new BrokerError("unsupported_grant_type", { reason: "request.unsupported_grant_type" });
}

/** Leading/trailing whitespace is ignored: google-auth-library sends a token file's trailing newline. */
const trimmed = (v: string | undefined) => (v === undefined ? undefined : v.trim() || undefined);

/**
 * RFC 8693 §2.1: `actor_token_type` is REQUIRED with `actor_token` and MUST NOT appear without it; the actor
 * token is a JWT like the subject token.
 */
function actorToken(form: Form): string | undefined {
  const token = trimmed(form.one("actor_token"));
  const type = form.one("actor_token_type");
  if (token === undefined && type === undefined) return undefined;
  if (token === undefined) throw invalid("request.missing_parameter", "actor_token_type without actor_token");
  if (type === undefined) throw invalid("request.missing_parameter", "parameter actor_token_type is missing");
  if (!SUBJECT_TOKEN_TYPES.includes(type))
    throw invalid("request.unsupported_token_type", "actor_token_type is not supported");
  return token;
}

/** Delegation is a token-exchange feature (RFC 8693 §2.1); the assertion grants carry no actor. */
function refuseActor(form: Form): void {
  if (form.has("actor_token") || form.has("actor_token_type"))
    throw invalid("request.actor_token", "actor_token is only defined for the token-exchange grant");
}

/** draft-ietf-oauth-transaction-tokens §11.1 and CONTRACT §9: a JSON object of at most 4 KiB. */
const MAX_CONTEXT_BYTES = 4 * 1024;

function jsonObjectParameter(
  form: Form,
  name: "request_context" | "request_details",
): Record<string, unknown> | undefined {
  const reason = `request.${name}` as const;
  const raw = form.one(name);
  if (raw === undefined) return undefined;
  if (Buffer.byteLength(raw) > MAX_CONTEXT_BYTES) throw invalid(reason, `${name} exceeds 4 KiB`);
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw invalid(reason, `${name} is not JSON`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw invalid(reason, `${name} is not a JSON object`);
  return value as Record<string, unknown>;
}

function subjectToken(
  form: Form,
  grant: GrantType,
): { token: string; clientId: string | undefined; actorToken?: string | undefined } {
  switch (grant) {
    case GRANT.tokenExchange: {
      // RFC 8693 §2.1: subject_token and subject_token_type are REQUIRED.
      const token = trimmed(form.required("subject_token"));
      const type = form.required("subject_token_type");
      if (!SUBJECT_TOKEN_TYPES.includes(type))
        throw invalid("request.unsupported_token_type", "subject_token_type is not supported");
      if (token === undefined)
        throw invalid("request.missing_parameter", "parameter subject_token is missing");
      return { token, clientId: undefined, actorToken: actorToken(form) };
    }
    case GRANT.jwtBearer: {
      refuseActor(form);
      // RFC 7523 §2.1: the assertion parameter carries a single JWT.
      const token = trimmed(form.required("assertion"));
      if (token === undefined) throw invalid("request.missing_parameter", "parameter assertion is missing");
      return { token, clientId: undefined };
    }
    case GRANT.clientCredentials: {
      refuseActor(form);
      // RFC 7523 §2.2: client authentication by a JWT assertion; anything else fails client authentication.
      const clientFailure = (detail: string) =>
        new BrokerError("invalid_client", { reason: "client.authentication", detail });
      if (form.one("client_assertion_type") !== CLIENT_ASSERTION_TYPE_JWT)
        throw clientFailure("client_assertion_type is not jwt-bearer");
      const token = trimmed(form.one("client_assertion"));
      if (token === undefined) throw clientFailure("client_assertion is missing");
      return { token, clientId: form.one("client_id") };
    }
  }
}

/** RFC 8693 §2.1 `audience` (single) and RFC 8707 `resource` (may repeat) name one target. */
function target(form: Form): string {
  const resources = form.all("resource");
  for (const r of resources) {
    // RFC 8707 §2: an absolute URI without a fragment; otherwise invalid_target.
    if (!URL.canParse(r) || r.includes("#")) {
      throw new BrokerError("invalid_target", {
        reason: "request.invalid_resource",
        detail: "resource is not an absolute URI",
        refused: r,
      });
    }
  }
  const names = new Set(resources);
  const audience = form.one("audience");
  if (audience !== undefined) names.add(audience);
  if (names.size === 0) throw invalid("request.missing_target", "audience or resource is required");
  if (names.size > 1) {
    throw new BrokerError("invalid_target", {
      reason: "request.multiple_targets",
      detail: "a token is issued for one target",
    });
  }
  return [...names][0] as string;
}

function scopes(form: Form): string[] | null {
  const raw = form.one("scope");
  if (raw === undefined) return null;
  const list = raw.split(" ").filter((s) => s !== "");
  const malformed = list.filter((s) => !SCOPE_TOKEN.test(s));
  if (malformed.length > 0) {
    throw new BrokerError("invalid_scope", {
      reason: "request.malformed_scope",
      detail: "scope is malformed",
      refused: malformed.join(" "),
    });
  }
  return list.length === 0 ? null : [...new Set(list)];
}

export function parseTokenRequest(
  form: Form,
  grantType: GrantType,
  sourceIp: string | undefined,
): TokenRequest {
  const { token, clientId, actorToken } = subjectToken(form, grantType);
  const requestedTokenType = form.one("requested_token_type");
  const requestContext = jsonObjectParameter(form, "request_context");
  const requestDetails = jsonObjectParameter(form, "request_details");
  // They describe a transaction: on any other request they would be silently dropped, so they are refused.
  if ((requestContext || requestDetails) && requestedTokenType !== TOKEN_TYPE.txnToken) {
    throw invalid(
      "request.transaction_parameters",
      "request_context and request_details need requested_token_type txn_token",
    );
  }
  return {
    grantType,
    subjectToken: token,
    audience: target(form),
    scopes: scopes(form),
    requestedTokenType,
    clientId,
    sourceIp,
    ...(actorToken === undefined ? {} : { actorToken }),
    ...(requestContext === undefined ? {} : { requestContext }),
    ...(requestDetails === undefined ? {} : { requestDetails }),
  };
}
