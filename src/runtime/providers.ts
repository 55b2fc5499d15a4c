import type { Config } from "../config/schema.ts";
import { DEFAULT_VERIFY_ALGORITHMS } from "../config/schema.ts";
import { DEFAULT_FETCH_LIMITS } from "../identity/fetch.ts";
import { type KeyCachePolicy, ProviderKeySource } from "../identity/jwks.ts";
import type { Provider } from "../identity/verifier.ts";
import type { Logger } from "../observability/log.ts";
import type { Metrics } from "../observability/metrics.ts";
import type { Clock } from "../util/clock.ts";
import { loadKubeConfig } from "./targets.ts";

export interface ProviderWiring {
  clock: Clock;
  metrics: Metrics;
  fetchImpl?: typeof fetch;
  keyCachePolicy?: KeyCachePolicy;
  logger?: Logger;
}

/** The trusted issuers of the config, each with its own key source (keys never cross providers). */
export async function createProviders(config: Config, w: ProviderWiring): Promise<Provider[]> {
  return Promise.all(
    config.providers.map(async (p) => {
      const keys = new ProviderKeySource({
        name: p.name,
        issuer: p.issuer,
        jwksUri: p.jwksUri,
        limits: { ...DEFAULT_FETCH_LIMITS, allowInsecureHttp: p.allowInsecureHttp },
        clock: w.clock,
        onFetch: (result) => w.metrics.jwksFetches.inc({ provider: p.name, result }),
        onKeyRejected: (r) => {
          w.metrics.jwksKeysRejected.inc({ provider: p.name });
          w.logger?.warn(
            { provider: r.provider, kid: r.kid, reason: r.reason },
            "JWKS key rejected; the provider's other keys stay in use",
          );
        },
        ...(w.fetchImpl ? { fetchImpl: w.fetchImpl } : {}),
        ...(w.keyCachePolicy ? { policy: w.keyCachePolicy } : {}),
      });
      const review = p.kubernetes?.tokenReview;
      const tokenReviewer = review
        ? (await import("../identity/token-review.ts")).createTokenReviewer(
            await loadKubeConfig(review.kubeconfig),
          )
        : undefined;
      const provider: Provider = {
        name: p.name,
        issuer: p.issuer,
        // CONTRACT §4: a provider's audiences default to the broker's own issuer.
        audiences: p.audiences ?? [config.issuer],
        algorithms: p.algorithms ?? [...DEFAULT_VERIFY_ALGORITHMS],
        keys,
        ...(tokenReviewer ? { tokenReviewer } : {}),
      };
      return provider;
    }),
  );
}
