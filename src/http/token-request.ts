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

function subjectToken(form: Form, grant: GrantType): { token: string; clientId: string | undefined } {
  switch (grant) {
    case GRANT.tokenExchange: {
      // RFC 8693 §2.1: subject_token and subject_token_type are REQUIRED.
      const token = trimmed(form.required("subject_token"));
      const type = form.required("subject_token_type");
      if (!SUBJECT_TOKEN_TYPES.includes(type))
        throw invalid("request.unsupported_token_type", "subject_token_type is not supported");
      // v1 does not implement delegation (RFC 8693 §1.1).
      if (form.has("actor_token") || form.has("actor_token_type")) {
        throw invalid("request.actor_token", "actor_token is not supported");
      }
      if (token === undefined)
        throw invalid("request.missing_parameter", "parameter subject_token is missing");
      return { token, clientId: undefined };
    }
    case GRANT.jwtBearer: {
      // RFC 7523 §2.1: the assertion parameter carries a single JWT.
      const token = trimmed(form.required("assertion"));
      if (token === undefined) throw invalid("request.missing_parameter", "parameter assertion is missing");
      return { token, clientId: undefined };
    }
    case GRANT.clientCredentials: {
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
  if (!list.every((s) => SCOPE_TOKEN.test(s))) {
    throw new BrokerError("invalid_scope", {
      reason: "request.malformed_scope",
      detail: "scope is malformed",
    });
  }
  return list.length === 0 ? null : [...new Set(list)];
}

export function parseTokenRequest(
  form: Form,
  grantType: GrantType,
  sourceIp: string | undefined,
): TokenRequest {
  const { token, clientId } = subjectToken(form, grantType);
  return {
    grantType,
    subjectToken: token,
    audience: target(form),
    scopes: scopes(form),
    requestedTokenType: form.one("requested_token_type"),
    clientId,
    sourceIp,
  };
}
