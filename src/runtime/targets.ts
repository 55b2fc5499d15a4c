import type { KubeConfig } from "@kubernetes/client-node";
import type { Config } from "../config/schema.ts";
import { createJwtMinter } from "../mint/jwt.ts";
import type { TokenSigner } from "../mint/signer.ts";
import type { Minter } from "../mint/types.ts";
import type { TargetKind } from "../policy/types.ts";
import type { KmsIdentity } from "../signing/from-config.ts";
import type { Clock } from "../util/clock.ts";

/**
 * Reads a kubeconfig file. The Kubernetes SDK (like the AWS and GCP ones) is imported only when the config uses
 * it: loaded eagerly it costs about 80 MiB and half a second at every start, CLI runs included.
 */
export async function loadKubeConfig(path: string): Promise<KubeConfig> {
  const { KubeConfig } = await import("@kubernetes/client-node");
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  return kc;
}

export type MinterOverrides = Partial<Record<TargetKind, Minter>>;

/** One minter per configured target kind; a kind the config does not set up answers invalid_target. */
export async function createMinters(
  config: Config,
  signer: TokenSigner,
  clock: Clock,
  overrides: MinterOverrides = {},
  identity: KmsIdentity = {},
): Promise<Map<TargetKind, Minter>> {
  const minters = new Map<TargetKind, Minter>([["jwt", createJwtMinter(signer, clock)]]);
  const { aws, gcp, kubernetes, github } = config.targets;
  if (github && !overrides.github) {
    const [{ createGithubMinter }, { githubAppSigner }] = await Promise.all([
      import("../mint/github.ts"),
      import("./github-app-key.ts"),
    ]);
    minters.set(
      "github",
      createGithubMinter({
        appId: github.appId,
        apiUrl: github.apiUrl,
        signer: await githubAppSigner(github, identity),
        clock,
      }),
    );
  }
  if (aws && !overrides.aws) {
    const { createAwsMinter } = await import("../mint/aws.ts");
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
  if (gcp && !overrides.gcp) {
    const { createGcpMinter } = await import("../mint/gcp.ts");
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
  if (kubernetes && kubernetes.clusters.length > 0 && !overrides.kubernetes) {
    const { createKubernetesMinter } = await import("../mint/kubernetes.ts");
    const clusters = await Promise.all(
      kubernetes.clusters.map(async (c) => ({
        name: c.name,
        kubeConfig: await loadKubeConfig(c.kubeconfig),
      })),
    );
    minters.set("kubernetes", createKubernetesMinter({ clusters, clock }));
  }
  for (const [kind, minter] of Object.entries(overrides)) if (minter) minters.set(kind as TargetKind, minter);
  return minters;
}
