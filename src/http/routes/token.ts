import type { Context } from "hono";
import { exchangeAuditEvent } from "../../audit/exchange-event.ts";
import { BrokerError } from "../../errors.ts";
import type { GrantType, TokenRequest } from "../../exchange/request.ts";
import type { ExchangeTrail } from "../../exchange/service.ts";
import type { IssuedToken } from "../../mint/types.ts";
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
    let errorCode: string | undefined;
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
        errorCode = "invalid_request";
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
      errorCode = wire.error;
      if (wire.retryAfter !== undefined) c.header("Retry-After", String(wire.retryAfter));
      return c.json({ error: wire.error, error_description: wire.description }, wire.status);
    } finally {
      const event = exchangeAuditEvent({
        requestId,
        started,
        status,
        grant,
        request,
        trail,
        failure,
        sourceIp,
      });
      deps.audit.write(event);
      const result = errorCode ?? "allow";
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
