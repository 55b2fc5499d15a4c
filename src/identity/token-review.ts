import { AuthenticationV1Api, type KubeConfig } from "@kubernetes/client-node";
import { BrokerError } from "../errors.ts";
import { callUpstream } from "../upstream/call.ts";
import type { RetryPolicy } from "../util/retry.ts";
import type { TokenReviewer, TokenReviewResult } from "./types.ts";

/**
 * TokenReviewer over the Kubernetes TokenReview API (POST /apis/authentication.k8s.io/v1/tokenreviews), for
 * clusters whose service-account issuer the broker cannot reach (CONTRACT §4 `kubernetes.tokenReview`).
 * An unauthenticated token is a result, not an error; a failing API server is `unavailable`.
 */
export function createTokenReviewer(
  kubeConfig: KubeConfig,
  options: { retry?: Partial<RetryPolicy> } = {},
): TokenReviewer {
  const api = kubeConfig.makeApiClient(AuthenticationV1Api);
  return {
    async review(token, audiences, signal) {
      const status:
        | { authenticated?: boolean; audiences?: string[]; user?: { username?: string; uid?: string } }
        | undefined = (
        await callUpstream(
          "kubernetes",
          signal,
          options.retry,
          () =>
            api.createTokenReview({
              body: {
                apiVersion: "authentication.k8s.io/v1",
                kind: "TokenReview",
                spec: { token, ...(audiences.length ? { audiences: [...audiences] } : {}) },
              },
            }),
          // A refused review (403: the broker lacks RBAC for tokenreviews) is the operator's problem, never the client's.
          (mapped) =>
            mapped.kind === "invalid_target"
              ? new BrokerError("server_error", {
                  reason: "upstream.kubernetes.token_review_refused",
                  ...(mapped.detail === undefined ? {} : { detail: mapped.detail }),
                })
              : mapped,
        )
      ).status;

      // authentication.k8s.io/v1 TokenReviewStatus.audiences: a client that sets spec.audiences must check that
      // a compatible audience comes back, or an audience-unaware authenticator could vouch for any token.
      const granted = status?.audiences ?? [];
      const audienceOk = audiences.length === 0 || granted.some((a) => audiences.includes(a));
      if (status?.authenticated !== true || !audienceOk) return { authenticated: false };

      const result: TokenReviewResult = { authenticated: true };
      if (status.user?.username !== undefined) result.username = status.user.username;
      if (status.user?.uid !== undefined) result.uid = status.user.uid;
      if (status.audiences !== undefined) result.audiences = [...status.audiences];
      return result;
    },
  };
}
