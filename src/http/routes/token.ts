import type { Context } from "hono";
import { exchangeAuditEvent } from "../../audit/exchange-event.ts";
import { BrokerError } from "../../errors.ts";
import type { ExchangeOutcome } from "../../exchange/outcome.ts";
import type { GrantType, TokenRequest } from "../../exchange/request.ts";
import type { IssuedToken } from "../../mint/types.ts";
import { ATTR, type RequestSpan, tracedRequest } from "../../observability/tracing.ts";
import type { AppDeps, AppEnv } from "../deps.ts";
import { Form, isFormContentType, readBodyCapped } from "../form.ts";
import { requestHeader, socketAddress } from "../node-request.ts";
import { toWireError } from "../oauth-error.ts";
import { json } from "../respond.ts";
import { parseGrantType, parseTokenRequest } from "../token-request.ts";

/** The request's deadline signal, created only if a minter calls an upstream (the broker JWT path never does). */
function deadline(requestId: string, timeoutMs: number, started: number) {
  let signal: AbortSignal | undefined;
  return {
    requestId,
    get signal() {
      // Counted from the request's arrival, not from the first upstream call.
      signal ??= AbortSignal.timeout(Math.max(1, Math.ceil(timeoutMs - (performance.now() - started))));
      return signal;
    },
  };
}

/**
 * RFC 9449 §8: with nonces on, every /token response to a DPoP request names the current nonce (and a
 * use_dpop_nonce error always does). A store outage only leaves the header out.
 */
async function offerNonce(c: Context<AppEnv>, deps: AppDeps, headers: Record<string, string>): Promise<void> {
  const nonces = deps.dpop.nonces;
  if (!nonces || requestHeader(c, "dpop") === undefined) return;
  try {
    headers["DPoP-Nonce"] = await nonces.current();
  } catch {
    // the response itself says what went wrong, if anything
  }
}

/** RFC 8693 §2.2.1 success body; wire names verbatim. */
function successBody(t: IssuedToken) {
  return {
    access_token: t.accessToken,
    issued_token_type: t.issuedTokenType,
    token_type: t.tokenType,
    expires_in: t.expiresIn,
    ...(t.scope ? { scope: t.scope } : {}),
  };
}

/** What the route parses before the exchange: a failure here is an outcome like any other. */
async function parse(
  c: Context<AppEnv>,
  sourceIp: string | undefined,
  parsed: Parsed,
): Promise<TokenRequest> {
  if (!isFormContentType(requestHeader(c, "content-type"))) {
    throw new BrokerError("invalid_request", {
      reason: "request.content_type",
      detail: "content type is not form-urlencoded",
    });
  }
  const form = new Form(await readBodyCapped(c.req.raw, requestHeader(c, "content-length")));
  parsed.grant = parseGrantType(form);
  const request = parseTokenRequest(form, parsed.grant, sourceIp);
  const proof = requestHeader(c, "dpop");
  if (proof !== undefined) request.dpopProof = proof;
  return request;
}

interface Parsed {
  grant?: GrantType;
}

const grantedAudience = (o: ExchangeOutcome) =>
  o.decision?.allow ? o.decision.grant.target.audience : undefined;
const refusingPolicy = (o: ExchangeOutcome) => (o.decision?.allow === false ? o.decision.policy : undefined);

/** The /token span's attributes before the request is read (OpenTelemetry HTTP server semantic conventions). */
const TOKEN_SPAN = { [ATTR.httpMethod]: "POST", [ATTR.httpRoute]: "/token" } as const;

/**
 * POST /token: parse → exchange → respond, then audit and count the outcome (every exit path). Each request is one
 * trace when tracing is on (CONTRACT §14), continuing the caller's W3C `traceparent`.
 */
export function tokenRoute(deps: AppDeps) {
  const handle = async (c: Context<AppEnv>, span: RequestSpan) => {
    const started = performance.now();
    const requestId = c.get("requestId");
    const sourceIp = deps.clientIp(socketAddress(c), requestHeader(c, "x-forwarded-for"));
    const parsed: Parsed = {};
    let request: TokenRequest | undefined;
    let outcome: ExchangeOutcome;
    try {
      request = await parse(c, sourceIp, parsed);
      outcome = await deps.exchange.exchange(request, deadline(requestId, deps.requestTimeoutMs, started));
    } catch (error) {
      outcome = { ok: false, error };
    }
    const { grant } = parsed;
    let response: Response;
    let status: number;
    let result: string;
    const headers: Record<string, string> = {};
    if (outcome.ok) {
      status = 200;
      result = "allow";
      await offerNonce(c, deps, headers);
      response = json(c, successBody(outcome.issued), 200, headers);
    } else {
      if (!(outcome.error instanceof BrokerError))
        deps.logger.error({ err: outcome.error, request_id: requestId }, "token request failed");
      if (outcome.error instanceof BrokerError && outcome.error.kind === "use_dpop_nonce")
        await offerNonce(c, deps, headers);
      const wire = toWireError(outcome.error, grant, requestId, deps.verboseErrors, request);
      status = wire.status;
      result = wire.error;
      if (wire.retryAfter !== undefined) headers["Retry-After"] = String(wire.retryAfter);
      response = json(c, { error: wire.error, error_description: wire.description }, wire.status, headers);
    }
    const event = exchangeAuditEvent({
      requestId,
      started,
      status,
      grant,
      request,
      outcome,
      sourceIp,
      withClaims: deps.auditClaims === true,
    });
    deps.audit.write(event);
    deps.metrics.exchanges.inc({
      result,
      provider: outcome.provider?.name ?? "none",
      // Also on a refusal after admission (invalid_scope, invalid_target, …): the policy that admitted the identity.
      // Policy names come from the config, so the label stays bounded.
      policy: event.policy ?? refusingPolicy(outcome) ?? "none",
      // The target's own audience, also when the client named it by an alias: label values come from the config.
      target: event.decision === "allow" ? (grantedAudience(outcome) ?? event.audience ?? "none") : "none",
    });
    deps.metrics.exchangeSeconds.observe({ result }, (performance.now() - started) / 1000);
    span.finish({
      attributes: {
        [ATTR.httpStatus]: status,
        [ATTR.result]: result,
        [ATTR.provider]: outcome.provider?.name,
        [ATTR.policy]: event.policy ?? refusingPolicy(outcome),
        [ATTR.targetKind]: event.target_kind,
      },
      ...(outcome.ok ? {} : { error: outcome.error }),
    });
    return response;
  };
  return (c: Context<AppEnv>) =>
    tracedRequest(
      "POST /token",
      (name) => requestHeader(c, name),
      TOKEN_SPAN,
      (span) => handle(c, span),
    );
}
