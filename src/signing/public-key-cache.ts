import type { PublicKeyInfo } from "./signer.ts";

/**
 * A KMS public key never changes for a key (version): fetched once on success, then served from memory. While
 * fetching fails, every caller retries (the first request after an outage ends is served); concurrent callers
 * share one fetch.
 */
export function cachedPublicKey<T extends PublicKeyInfo>(
  fetchKey: (signal: AbortSignal) => Promise<T>,
): (signal: AbortSignal) => Promise<T> {
  let known: Promise<T> | undefined;
  let pending: Promise<T> | undefined;
  return (signal) => {
    if (known) return known;
    if (!pending) {
      const attempt = fetchKey(signal);
      pending = attempt;
      attempt.then(
        () => {
          known = attempt;
          pending = undefined;
        },
        () => {
          pending = undefined;
        },
      );
    }
    return pending;
  };
}
