import type { Context } from "hono";
import type { BrokerTokenPayload } from "../../identity/broker-token.ts";
import { sha256Hex } from "../../util/hash.ts";
import type { AppDeps, AppEnv } from "../deps.ts";
import { readTokenForm } from "../lifecycle-form.ts";
import { lifecycleRoute } from "../lifecycle-route.ts";
import { requestHeader } from "../node-request.ts";
import { json } from "../respond.ts";

/** The scope a resource server's broker JWT needs to call /introspect (CONTRACT §10). */
export const INTROSPECT_SCOPE = "wif-broker:introspect";

const scopesOf = (claims: Readonly<Record<string, unknown>>): string[] =>
  typeof claims.scope === "string" ? claims.scope.split(" ").filter(Boolean) : [];

const audiencesOf = (claims: Readonly<Record<string, unknown>>): unknown[] =>
  Array.isArray(claims.aud) ? claims.aud : [claims.aud];

/** RFC 7662 §2.2 members of an active token; `token_type` per RFC 9449 §6 (DPoP) or RFC 6750 (Bearer). */
function activeBody(t: BrokerTokenPayload) {
  const c = t.claims;
  const cnf = c.cnf;
  const bound = typeof cnf === "object" && cnf !== null && "jkt" in cnf;
  const body: Record<string, unknown> = { active: true };
  for (const name of ["iss", "sub", "aud", "scope", "client_id", "exp", "iat", "nbf", "jti"])
    if (c[name] !== undefined) body[name] = c[name];
  // A Txn-Token is not an OAuth access token (draft-ietf-oauth-transaction-tokens §13.13): it has no token type.
  body.token_type = t.typ === "txntoken+jwt" ? "N_A" : bound ? "DPoP" : "Bearer";
  if (bound) body.cnf = cnf;
  if (c.act !== undefined) body.act = c.act;
  if (c.txn !== undefined) body.txn = c.txn;
  return body;
}

/**
 * RFC 6750 §3 challenge. No credentials → no error code (§3.1); a bad token → invalid_token (401); a token
 * without the scope → insufficient_scope (403).
 */
function challenge(c: Context<AppEnv>, status: 401 | 403, error?: "invalid_token" | "insufficient_scope") {
  const params = [`realm="wif-broker"`];
  if (error) params.push(`error="${error}"`);
  if (error === "insufficient_scope") params.push(`scope="${INTROSPECT_SCOPE}"`);
  const requestId = c.get("requestId");
  const description =
    status === 403
      ? "the bearer token lacks the wif-broker:introspect scope"
      : "a broker access token for the broker itself is required";
  return json(
    c,
    { error: error ?? "invalid_token", error_description: `${description} (request id ${requestId})` },
    status,
    { "WWW-Authenticate": `Bearer ${params.join(", ")}` },
  );
}

/**
 * POST /introspect (RFC 7662, CONTRACT §10). The caller authenticates with a broker JWT whose audience is the
 * broker and whose scope holds wif-broker:introspect — obtained by exchanging its own workload identity, so no
 * client secret exists. The answer is `{"active": false}` for anything that is not an active broker JWT
 * (RFC 7662 §2.2: no reason is given).
 */
export function introspectRoute(deps: AppDeps) {
  return lifecycleRoute(deps, "/introspect", "introspect.answered", async (c, outcome) => {
    // RFC 7662 §2.1: the endpoint MUST require some form of authorization.
    const auth = /^Bearer +([^ ]+) *$/i.exec(requestHeader(c, "authorization") ?? "");
    if (!auth?.[1]) {
      outcome.status = 401;
      outcome.reason = "introspect.no_bearer";
      return challenge(c, 401);
    }
    const caller = await deps.brokerTokens.active(auth[1]);
    const callerOk =
      caller.ok &&
      caller.token.typ === "at+jwt" &&
      audiencesOf(caller.token.claims).includes(deps.issuer) &&
      // RFC 9449 §7.1: a DPoP-bound token presented as a plain bearer token is refused.
      caller.token.claims.cnf === undefined;
    if (!caller.ok || !callerOk) {
      outcome.status = 401;
      outcome.reason = caller.ok ? "introspect.bearer_not_for_broker" : `introspect.bearer_${caller.reason}`;
      return challenge(c, 401, "invalid_token");
    }
    outcome.caller = { sub: caller.token.claims.sub, clientId: caller.token.claims.client_id };
    if (!scopesOf(caller.token.claims).includes(INTROSPECT_SCOPE)) {
      outcome.status = 403;
      outcome.reason = "introspect.insufficient_scope";
      return challenge(c, 403, "insufficient_scope");
    }
    const { token } = await readTokenForm(c);
    outcome.tokenSha256 = sha256Hex(token);
    const check = await deps.brokerTokens.active(token);
    outcome.active = check.ok;
    if (!check.ok) {
      outcome.reason = `introspect.inactive_${check.reason}`;
      return json(c, { active: false });
    }
    outcome.token = check.token.claims;
    return json(c, activeBody(check.token));
  });
}
