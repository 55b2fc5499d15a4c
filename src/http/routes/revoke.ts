import type { Context } from "hono";
import { type LifecycleOutcome, lifecycleAuditEvent } from "../../audit/lifecycle-event.ts";
import { BrokerError } from "../../errors.ts";
import { sha256Hex } from "../../util/hash.ts";
import type { AppDeps, AppEnv } from "../deps.ts";
import { lifecycleError, readTokenForm } from "../lifecycle-form.ts";
import { requestHeader, socketAddress } from "../node-request.ts";

/**
 * POST /revoke (RFC 7009, CONTRACT §10). No client authentication: presenting the token is the proof. The
 * revokers are asked in order until one recognises the token; an unknown token is still a 200 (RFC 7009 §2.2),
 * so the endpoint tells nobody which strings are live credentials.
 */
export function revokeRoute(deps: AppDeps) {
  return async (c: Context<AppEnv>) => {
    const outcome: LifecycleOutcome = {
      endpoint: "/revoke",
      requestId: c.get("requestId"),
      started: performance.now(),
      status: 200,
      reason: "revoke.unknown_token",
      sourceIp: deps.clientIp(socketAddress(c), requestHeader(c, "x-forwarded-for")),
    };
    try {
      const { token, hint } = await readTokenForm(c);
      outcome.tokenSha256 = sha256Hex(token);
      for (const revoker of deps.revokers) {
        if ((await revoker.revoke(token, hint)) === "revoked") {
          outcome.revoker = revoker.kind;
          outcome.reason = "revoke.revoked";
          break;
        }
      }
      // RFC 7009 §2.2: 200 whether the token was revoked or unknown; the client ignores the body.
      return c.body(null, 200);
    } catch (e) {
      if (!(e instanceof BrokerError))
        deps.logger.error({ err: e, request_id: outcome.requestId }, "revocation failed");
      const failure = lifecycleError(c, e, deps.verboseErrors);
      outcome.status = failure.status;
      outcome.reason = failure.reason;
      return failure.response;
    } finally {
      deps.audit.write(lifecycleAuditEvent(outcome));
    }
  };
}
