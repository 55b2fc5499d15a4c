import { BrokerError } from "../errors.ts";
import { callUpstream } from "../upstream/call.ts";
import type { UpstreamTarget } from "../upstream/errors.ts";
import type { RetryPolicy } from "../util/retry.ts";

export interface KmsCallOptions {
  /** Bound on one KMS operation (its retries included), within the request's own deadline. */
  timeoutMs: number;
  retry?: Partial<RetryPolicy>;
}

/**
 * One KMS operation: bounded retries on throttling, 5xx and network errors, within min(request deadline, the KMS
 * timeout). An outage or a timeout → 503 `temporarily_unavailable` + Retry-After (CONTRACT §12); a KMS refusing the
 * key (disabled, not found, access denied) is the operator's problem, never the client's target → server_error.
 */
export function kmsCall<T>(
  target: Extract<UpstreamTarget, "aws-kms" | "gcp-kms">,
  signal: AbortSignal,
  options: KmsCallOptions,
  attempt: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const bounded = AbortSignal.any([signal, AbortSignal.timeout(options.timeoutMs)]);
  return callUpstream(
    target,
    bounded,
    options.retry,
    () => attempt(bounded),
    (mapped) =>
      mapped.kind === "unavailable" || mapped.kind === "server_error"
        ? mapped
        : new BrokerError("server_error", {
            reason: `upstream.${target}.refused`,
            ...(mapped.detail === undefined ? {} : { detail: mapped.detail }),
          }),
  );
}

/** A key the KMS holds but the broker cannot use (wrong type or usage): a configuration error, never retried. */
export class KmsKeyError extends Error {
  override name = "KmsKeyError";
}
