import { CoreV1Api, type KubeConfig, type V1TokenRequestStatus } from "@kubernetes/client-node";
import { BrokerError } from "../errors.ts";
import { callUpstream } from "../upstream/call.ts";
import { type Clock, systemClock } from "../util/clock.ts";
import type { RetryPolicy } from "../util/retry.ts";
import { type IssuedToken, type Minter, TOKEN_TYPE } from "./types.ts";

/**
 * Kubernetes target (CONTRACT §5 `kubernetes`): a service-account token from the TokenRequest API
 * (POST /api/v1/namespaces/{ns}/serviceaccounts/{sa}/token) of a configured cluster, with the cluster's
 * kubeconfig identity. Not cached: every exchange gets its own bound token.
 */

/** kube-apiserver refuses TokenRequest.spec.expirationSeconds below 600 (10 minutes). */
export const TOKEN_REQUEST_MIN_EXPIRATION = 600;

export interface KubernetesCluster {
  name: string;
  kubeConfig: KubeConfig;
}

export interface KubernetesMinterOptions {
  clusters: readonly KubernetesCluster[];
  clock?: Clock;
  retry?: Partial<RetryPolicy>;
}

/** expirationSeconds: the grant's lifetime (or the target's shorter `expiration`), at least 600. */
export function tokenRequestExpiration(ttl: number, configured?: number): number {
  return Math.max(TOKEN_REQUEST_MIN_EXPIRATION, Math.floor(Math.min(configured ?? ttl, ttl)));
}

export function createKubernetesMinter(options: KubernetesMinterOptions): Minter {
  const clock = options.clock ?? systemClock;
  const apis = new Map<string, CoreV1Api>();
  for (const cluster of options.clusters) {
    if (apis.has(cluster.name)) throw new TypeError(`duplicate kubernetes cluster name "${cluster.name}"`);
    apis.set(cluster.name, cluster.kubeConfig.makeApiClient(CoreV1Api));
  }

  return {
    kind: "kubernetes",
    async mint(grant, ctx) {
      if (grant.target.kind !== "kubernetes")
        throw new TypeError(`kubernetes minter got a ${grant.target.kind} grant`);
      const spec = grant.target.kubernetes;
      const api = apis.get(spec.cluster);
      if (!api) {
        throw new BrokerError("invalid_target", {
          reason: "kubernetes.unknown_cluster",
          detail: "the target names a cluster that is not configured",
        });
      }
      const expirationSeconds = tokenRequestExpiration(grant.ttl, spec.expiration);
      const status: V1TokenRequestStatus | undefined = (
        await callUpstream("kubernetes", ctx.signal, options.retry, () =>
          api.createNamespacedServiceAccountToken({
            name: spec.serviceAccount,
            namespace: spec.namespace,
            body: {
              apiVersion: "authentication.k8s.io/v1",
              kind: "TokenRequest",
              // No audiences: the API server defaults to its own (the issuer's) audiences.
              spec: { audiences: spec.audiences ?? [], expirationSeconds },
            },
          }),
        )
      ).status;
      const expiresAt = status?.expirationTimestamp?.getTime();
      if (!status?.token || expiresAt === undefined || !Number.isFinite(expiresAt)) {
        throw new BrokerError("server_error", {
          reason: "upstream.kubernetes.error",
          detail: "incomplete TokenRequest status",
        });
      }
      const jti = jtiOf(status.token);
      const token: IssuedToken = {
        accessToken: status.token,
        issuedTokenType: TOKEN_TYPE.jwt,
        tokenType: "Bearer",
        // The API server may shorten the lifetime (--service-account-max-token-expiration): trust its answer.
        expiresIn: Math.max(0, Math.floor((expiresAt - clock()) / 1000)),
        ...(jti === undefined ? {} : { jti }),
      };
      return token;
    },
  };
}

/** The `jti` of the issued service-account JWT, for audit only (not verified: the API server just minted it). */
function jtiOf(jwt: string): string | undefined {
  try {
    const payload: unknown = JSON.parse(Buffer.from(jwt.split(".")[1] ?? "", "base64url").toString("utf8"));
    const jti =
      typeof payload === "object" && payload !== null ? (payload as { jti?: unknown }).jti : undefined;
    return typeof jti === "string" ? jti : undefined;
  } catch {
    return undefined;
  }
}
