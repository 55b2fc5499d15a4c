import type { BrokerError } from "../errors.ts";
import { ATTR, tracedCall } from "../observability/tracing.ts";
import { abortable, type RetryPolicy, withRetry } from "../util/retry.ts";
import { isRetryableUpstream, type UpstreamTarget, upstreamError } from "./errors.ts";

/**
 * One upstream call as every adapter makes it: bounded retries with jittered backoff on throttling, 5xx and network
 * errors, inside the request's deadline; any failure left over becomes a BrokerError (never the upstream's message).
 * One client span per call (CONTRACT §14), retries counted in it.
 */
export async function callUpstream<T>(
  target: UpstreamTarget,
  signal: AbortSignal,
  retry: Partial<RetryPolicy> | undefined,
  attempt: () => Promise<T>,
  refine: (mapped: BrokerError) => BrokerError = (mapped) => mapped,
): Promise<T> {
  return tracedCall(`upstream ${target}`, { [ATTR.upstream]: target }, async (span) => {
    let attempts = 0;
    try {
      return await withRetry(
        () => {
          attempts++;
          return abortable(attempt(), signal);
        },
        { ...retry, signal, isRetryable: isRetryableUpstream },
      );
    } catch (error) {
      throw refine(upstreamError(target, error, signal));
    } finally {
      span.set({ [ATTR.upstreamAttempts]: attempts });
    }
  });
}
