import type { Context } from "hono";
import type { AuditEvent } from "../../audit/event.ts";
import { BrokerError } from "../../errors.ts";
import type { GrantType, TokenRequest } from "../../exchange/request.ts";
import type { ExchangeTrail } from "../../exchange/service.ts";
import type { IssuedToken } from "../../mint/types.ts";
import { sha256Hex } from "../../util/hash.ts";
import type { AppDeps, AppEnv } from "../deps.ts";
import { BodyTooLarge, Form, isFormContentType, readBodyCapped } from "../form.ts";
import { requestHeader, socketAddress } from "../node-request.ts";
import { toWireError } from "../oauth-error.ts";
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

/** POST /token: parse → verify → decide → mint → respond, audited from `finally` on every path. */
export function tokenRoute(deps: AppDeps) {
  return async (c: Context<AppEnv>) => {
    const started = performance.now();
    const requestId = c.get("requestId");
    const trail: ExchangeTrail = {};
    let grant: GrantType | undefined;
    let request: TokenRequest | undefined;
    let status = 200;
    let failure: unknown;
    const sourceIp = deps.clientIp(socketAddress(c), requestHeader(c, "x-forwarded-for"));
    try {
      if (!isFormContentType(requestHeader(c, "content-type"))) {
        throw new BrokerError("invalid_request", {
          reason: "request.content_type",
          detail: "content type is not form-urlencoded",
        });
      }
      const form = new Form(await readBodyCapped(c.req.raw, requestHeader(c, "content-length")));
      grant = parseGrantType(form);
      request = parseTokenRequest(form, grant, sourceIp);
      const issued = await deps.exchange.exchange(
        request,
        deadline(requestId, deps.requestTimeoutMs, started),
        trail,
      );
      return c.json(successBody(issued), 200);
    } catch (e) {
      failure = e;
      if (e instanceof BodyTooLarge) {
        status = 413;
        return c.json(
          {
            error: "invalid_request",
            error_description: `request body exceeds 64 KiB (request id ${requestId})`,
          },
          413,
        );
      }
      if (!(e instanceof BrokerError))
        deps.logger.error({ err: e, request_id: requestId }, "token request failed");
      const wire = toWireError(e, grant, requestId, deps.verboseErrors);
      status = wire.status;
      if (wire.retryAfter !== undefined) c.header("Retry-After", String(wire.retryAfter));
      return c.json({ error: wire.error, error_description: wire.description }, wire.status);
    } finally {
      const event = auditEvent(requestId, started, status, grant, request, trail, failure, sourceIp);
      deps.audit.write(event);
      const result =
        status === 200
          ? "allow"
          : status === 413
            ? "invalid_request"
            : (toWireErrorCode(failure, grant) ?? "error");
      deps.metrics.exchanges.inc({
        result,
        provider: trail.identity?.provider ?? trail.claimedProvider?.name ?? "none",
        policy: event.policy ?? "none",
        target: event.decision === "allow" ? (event.audience ?? "none") : "none",
      });
      deps.metrics.exchangeSeconds.observe({ result }, (performance.now() - started) / 1000);
    }
  };
}

const toWireErrorCode = (failure: unknown, grant: GrantType | undefined) =>
  failure === undefined ? undefined : toWireError(failure, grant, "", false).error;

function auditEvent(
  requestId: string,
  started: number,
  status: number,
  grant: GrantType | undefined,
  request: TokenRequest | undefined,
  trail: ExchangeTrail,
  failure: unknown,
  sourceIp: string | undefined,
): AuditEvent {
  const decision = trail.decision;
  const g = decision?.allow ? decision.grant : undefined;
  const err = failure instanceof BrokerError ? failure : undefined;
  const event: AuditEvent = {
    time: new Date().toISOString(),
    request_id: requestId,
    decision:
      status === 200
        ? "allow"
        : err && err.kind !== "server_error" && err.kind !== "unavailable"
          ? "deny"
          : "error",
    reason: status === 200 ? "granted" : status === 413 ? "request.too_large" : (err?.reason ?? "internal"),
    status,
    latency_ms: Math.round((performance.now() - started) * 1000) / 1000,
  };
  if (err) event.error = err.kind;
  if (grant) event.grant_type = grant;
  if (request) {
    event.audience = request.audience;
    event.subject_token_sha256 = trail.identity?.tokenSha256 ?? sha256Hex(request.subjectToken);
  }
  if (sourceIp) event.source_ip = sourceIp;
  if (trail.claimedProvider)
    Object.assign(event, { provider: trail.claimedProvider.name, iss: trail.claimedProvider.issuer });
  const id = trail.identity;
  if (id) {
    Object.assign(event, {
      provider: id.provider,
      iss: id.issuer,
      sub: id.subject,
      subject_token_sha256: id.tokenSha256,
    });
  }
  if (g)
    Object.assign(event, { policy: g.policy, target_kind: g.target.kind, scopes: g.scopes, lifetime: g.ttl });
  if (trail.issued) {
    event.lifetime = trail.issued.expiresIn;
    if (trail.issued.jti) event.jti = trail.issued.jti;
  }
  if (decision) event.trace = decision.trace;
  return event;
}
