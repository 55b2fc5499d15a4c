import { KubeConfig } from "@kubernetes/client-node";
import type { Config } from "../config/schema.ts";
import { createAwsMinter } from "../mint/aws.ts";
import { createGcpMinter } from "../mint/gcp.ts";
import { createJwtMinter } from "../mint/jwt.ts";
import { createKubernetesMinter } from "../mint/kubernetes.ts";
import type { TokenSigner } from "../mint/signer.ts";
import type { Minter } from "../mint/types.ts";
import type { TargetKind } from "../policy/types.ts";
import type { Clock } from "../util/clock.ts";

/** Reads a kubeconfig file; the SDK adapter stays in this wiring file and the minter/reviewer adapters. */
export function loadKubeConfig(path: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  return kc;
}

export type MinterOverrides = Partial<Record<TargetKind, Minter>>;

/** One minter per configured target kind; a kind the config does not set up answers invalid_target. */
export function createMinters(
  config: Config,
  signer: TokenSigner,
  clock: Clock,
  overrides: MinterOverrides = {},
): Map<TargetKind, Minter> {
  const minters = new Map<TargetKind, Minter>([["jwt", createJwtMinter(signer, clock)]]);
  const { aws, gcp, kubernetes } = config.targets;
  if (aws) {
    minters.set(
      "aws",
      createAwsMinter({
        region: aws.region,
        signer,
        clock,
        ...(aws.endpoint ? { endpoint: aws.endpoint } : {}),
      }),
    );
  }
  if (gcp) {
    minters.set(
      "gcp",
      createGcpMinter({
        clock,
        ...(gcp.apiEndpoint ? { apiEndpoint: gcp.apiEndpoint } : {}),
        ...(gcp.port ? { port: gcp.port } : {}),
        ...(gcp.protocol ? { protocol: gcp.protocol } : {}),
      }),
    );
  }
  if (kubernetes && kubernetes.clusters.length > 0) {
    const clusters = kubernetes.clusters.map((c) => ({
      name: c.name,
      kubeConfig: loadKubeConfig(c.kubeconfig),
    }));
    minters.set("kubernetes", createKubernetesMinter({ clusters, clock }));
  }
  for (const [kind, minter] of Object.entries(overrides)) if (minter) minters.set(kind as TargetKind, minter);
  return minters;
}
