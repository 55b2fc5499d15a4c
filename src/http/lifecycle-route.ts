import type { Context } from "hono";
import { type LifecycleOutcome, lifecycleAuditEvent } from "../audit/lifecycle-event.ts";
import { BrokerError } from "../errors.ts";
import type { Reason } from "../reasons.ts";
import type { AppDeps, AppEnv } from "./deps.ts";
import { lifecycleError } from "./lifecycle-form.ts";
import { requestHeader, socketAddress } from "./node-request.ts";

/**
 * The frame /introspect and /revoke share: one outcome per request, coded errors mapped to the wire, unexpected
 * ones logged (never echoed), and exactly one audit event from the `finally` (CONTRACT §7).
 */
export function lifecycleRoute(
  deps: AppDeps,
  endpoint: LifecycleOutcome["endpoint"],
  initialReason: Reason,
  handle: (c: Context<AppEnv>, outcome: LifecycleOutcome) => Promise<Response>,
) {
  return async (c: Context<AppEnv>) => {
    const outcome: LifecycleOutcome = {
      endpoint,
      requestId: c.get("requestId"),
      started: performance.now(),
      status: 200,
      reason: initialReason,
      sourceIp: deps.clientIp(socketAddress(c), requestHeader(c, "x-forwarded-for")),
    };
    try {
      return await handle(c, outcome);
    } catch (e) {
      if (!(e instanceof BrokerError))
        deps.logger.error({ err: e, request_id: outcome.requestId }, `${endpoint} failed`);
      const failure = lifecycleError(c, e, deps.verboseErrors);
      outcome.status = failure.status;
      outcome.reason = failure.reason;
      return failure.response;
    } finally {
      deps.audit.write(lifecycleAuditEvent(outcome));
    }
  };
}
