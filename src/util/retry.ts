/**
 * Bounded retries with "full jitter" exponential backoff (AWS Architecture Blog, "Exponential Backoff And
 * Jitter": sleep = random(0, min(cap, base · 2^attempt))), always inside the request deadline: the caller's
 * AbortSignal stops both the waiting and any further attempt. Only failures the caller calls retryable are
 * retried; everything else is rethrown at once.
 */

export interface RetryPolicy {
  /** Total attempts, the first one included. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { attempts: 3, baseDelayMs: 100, maxDelayMs: 1000 };

export interface RetryOptions extends Partial<RetryPolicy> {
  /** The request deadline. Once aborted, no new attempt starts and a pending backoff ends. */
  signal: AbortSignal;
  isRetryable: (error: unknown) => boolean;
  /** [0, 1); injectable so tests can pin the jitter. */
  random?: () => number;
}

/** Full-jitter delay before retry number `retry` (0 for the first retry). */
export function backoffDelay(retry: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retry);
  return Math.floor(random() * ceiling);
}

export async function withRetry<T>(attempt: (n: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const policy: RetryPolicy = {
    attempts: options.attempts ?? DEFAULT_RETRY_POLICY.attempts,
    baseDelayMs: options.baseDelayMs ?? DEFAULT_RETRY_POLICY.baseDelayMs,
    maxDelayMs: options.maxDelayMs ?? DEFAULT_RETRY_POLICY.maxDelayMs,
  };
  if (!Number.isInteger(policy.attempts) || policy.attempts < 1) {
    throw new TypeError("retry attempts must be a positive integer");
  }
  options.signal.throwIfAborted();
  for (let n = 0; ; n++) {
    try {
      return await attempt(n);
    } catch (error) {
      const last = n + 1 >= policy.attempts;
      if (last || options.signal.aborted || !options.isRetryable(error)) throw error;
      const slept = await sleep(backoffDelay(n, policy, options.random), options.signal);
      // The deadline passed while waiting: report the upstream failure we saw, not the abort.
      if (!slept) throw error;
    }
  }
}

/** Resolves true after `ms`, or false as soon as `signal` aborts. Never rejects. */
export function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Settles with `promise`, or rejects with the signal's reason as soon as it aborts. For SDK calls that take no
 * AbortSignal of their own: the caller stops waiting at the deadline even if the socket lingers.
 */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}
