import type { Context } from "hono";
import type { LifecycleOutcome } from "../audit/lifecycle-event.ts";
import { BrokerError } from "../errors.ts";
import type { BrokerTokenPayload } from "../identity/broker-token.ts";
import type { Reason } from "../reasons.ts";
import type { AppDeps, AppEnv } from "./deps.ts";
import { requestHeader } from "./node-request.ts";
import { json } from "./respond.ts";

/** The scope a resource server's broker JWT needs to call /introspect (CONTRACT §10). */
export const INTROSPECT_SCOPE = "wif-broker:introspect";

type Scheme = "Bearer" | "DPoP";
type ChallengeError = "invalid_token" | "insufficient_scope" | "invalid_dpop_proof" | "use_dpop_nonce";

const scopesOf = (claims: Readonly<Record<string, unknown>>): string[] =>
  typeof claims.scope === "string" ? claims.scope.split(" ").filter(Boolean) : [];

const audiencesOf = (claims: Readonly<Record<string, unknown>>): unknown[] =>
  Array.isArray(claims.aud) ? claims.aud : [claims.aud];

/** The `cnf.jkt` a token is bound to (RFC 9449 §6.1), if it is. */
function boundJkt(claims: Readonly<Record<string, unknown>>): string | undefined {
  const cnf = claims.cnf;
  if (typeof cnf !== "object" || cnf === null) return undefined;
  const jkt = (cnf as Record<string, unknown>).jkt;
  return typeof jkt === "string" ? jkt : undefined;
}

const DESCRIPTION: Record<ChallengeError, string> = {
  invalid_token: "a broker access token for the broker itself is required",
  insufficient_scope: `the access token lacks the ${INTROSPECT_SCOPE} scope`,
  invalid_dpop_proof: "a valid DPoP proof for this request and access token is required",
  use_dpop_nonce: "the DPoP proof must carry the nonce of the DPoP-Nonce header",
};

/** Whether the caller may introspect, or the response that says why not. */
export type CallerCheck = { ok: true; caller: BrokerTokenPayload } | { ok: false; response: Response };

/**
 * Authenticates the caller of /introspect (RFC 7662 §2.1, CONTRACT §10): a broker access token for the broker with
 * the introspection scope, presented as `Authorization: Bearer` (RFC 6750 §2.1) — or, when it is DPoP-bound, as
 * `Authorization: DPoP` with a `DPoP` proof by its key for this request (RFC 9449 §7.1). Refusals are 401 (403 for a
 * missing scope) with the challenge of the scheme used; no credentials → both challenges, no error code
 * (RFC 6750 §3.1, RFC 9449 §7.2).
 */
export async function authenticateCaller(
  c: Context<AppEnv>,
  deps: AppDeps,
  outcome: LifecycleOutcome,
): Promise<CallerCheck> {
  const refuse = async (scheme: Scheme | undefined, reason: Reason, error?: ChallengeError) => {
    const status = error === "insufficient_scope" ? 403 : 401;
    outcome.status = status;
    outcome.reason = reason;
    return { ok: false as const, response: await challenge(c, deps, status, scheme, error) };
  };
  const auth = /^(Bearer|DPoP) +([^ ]+) *$/i.exec(requestHeader(c, "authorization") ?? "");
  const token = auth?.[2];
  if (!auth || !token) return refuse(undefined, "introspect.no_bearer");
  const scheme: Scheme = auth[1]?.toLowerCase() === "dpop" ? "DPoP" : "Bearer";
  const check = await deps.brokerTokens.active(token);
  if (!check.ok) return refuse(scheme, `introspect.bearer_${check.reason}`, "invalid_token");
  const { claims } = check.token;
  if (check.token.typ !== "at+jwt" || !audiencesOf(claims).includes(deps.issuer))
    return refuse(scheme, "introspect.bearer_not_for_broker", "invalid_token");
  const jkt = boundJkt(claims);
  if (scheme === "Bearer") {
    // RFC 9449 §7.1: a DPoP-bound token presented as a plain bearer token is refused.
    if (claims.cnf !== undefined) return refuse(scheme, "introspect.bearer_not_for_broker", "invalid_token");
  } else {
    // RFC 9449 §7.1: the DPoP scheme is for DPoP-bound tokens, each request with a proof by the bound key.
    if (jkt === undefined) return refuse(scheme, "introspect.dpop_unbound", "invalid_token");
    const proof = requestHeader(c, "dpop");
    if (proof === undefined || deps.dpop.verifyWithAccessToken === undefined)
      return refuse(scheme, "introspect.dpop_no_proof", "invalid_dpop_proof");
    try {
      await deps.dpop.verifyWithAccessToken(proof, {
        method: c.req.method,
        accessToken: token,
        boundJkt: jkt,
      });
    } catch (e) {
      // §7.1, §9: proof failures are the resource server's 401 with the DPoP challenge; a store outage stays 503.
      if (e instanceof BrokerError && (e.kind === "invalid_dpop_proof" || e.kind === "use_dpop_nonce"))
        return refuse(scheme, e.reason, e.kind);
      throw e;
    }
  }
  outcome.caller = { sub: claims.sub, clientId: claims.client_id };
  if (!scopesOf(claims).includes(INTROSPECT_SCOPE))
    return refuse(scheme, "introspect.insufficient_scope", "insufficient_scope");
  return { ok: true, caller: check.token };
}

/**
 * RFC 6750 §3 / RFC 9449 §7.1 challenge for the scheme the caller used (both when it used none: §7.2), with the
 * DPoP `algs` parameter, and `DPoP-Nonce` with use_dpop_nonce (§9; a store outage only leaves it out).
 */
async function challenge(
  c: Context<AppEnv>,
  deps: AppDeps,
  status: 401 | 403,
  scheme: Scheme | undefined,
  error: ChallengeError | undefined,
): Promise<Response> {
  const params = [`realm="wif-broker"`];
  if (error) params.push(`error="${error}"`);
  if (error === "insufficient_scope") params.push(`scope="${INTROSPECT_SCOPE}"`);
  const dpop = `DPoP ${[...params, `algs="${deps.dpop.algorithms.join(" ")}"`].join(", ")}`;
  const bearer = `Bearer ${params.join(", ")}`;
  const headers: Record<string, string> = {
    "WWW-Authenticate": scheme === "DPoP" ? dpop : scheme === "Bearer" ? bearer : `${bearer}, ${dpop}`,
  };
  if (error === "use_dpop_nonce" && deps.dpop.nonces) {
    try {
      headers["DPoP-Nonce"] = await deps.dpop.nonces.current();
    } catch {
      // the error code still tells the client what is missing
    }
  }
  const code = error ?? "invalid_token";
  const description = `${DESCRIPTION[code]} (request id ${c.get("requestId")})`;
  return json(c, { error: code, error_description: description }, status, headers);
}
