import type { BrokerTokenPayload } from "../../identity/broker-token.ts";
import { sha256Hex } from "../../util/hash.ts";
import type { AppDeps } from "../deps.ts";
import { authenticateCaller } from "../introspect-caller.ts";
import { readTokenForm } from "../lifecycle-form.ts";
import { lifecycleRoute } from "../lifecycle-route.ts";
import { json } from "../respond.ts";

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
 * POST /introspect (RFC 7662, CONTRACT §10). The caller authenticates with a broker JWT whose audience is the
 * broker and whose scope holds wif-broker:introspect — obtained by exchanging its own workload identity, so no
 * client secret exists — as a bearer token, or DPoP-bound with a proof (introspect-caller.ts). The answer is
 * `{"active": false}` for anything that is not an active broker JWT (RFC 7662 §2.2: no reason is given).
 */
export function introspectRoute(deps: AppDeps) {
  return lifecycleRoute(deps, "/introspect", "introspect.answered", async (c, outcome) => {
    // RFC 7662 §2.1: the endpoint MUST require some form of authorization.
    const caller = await authenticateCaller(c, deps, outcome);
    if (!caller.ok) return caller.response;
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
