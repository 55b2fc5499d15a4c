import { type KmsKeyConfig, resolveKmsStatuses } from "../config/kms-schema.ts";
import type { Config } from "../config/schema.ts";
import type { GcpAuthClient } from "../mint/gcp.ts";
import type { Logger } from "../observability/log.ts";
import type { CertifiedKeyDirectory } from "../store/types.ts";
import type { Clock } from "../util/clock.ts";
import type { AwsKmsSignerOptions } from "./aws-kms.ts";
import { CertifiedSigning } from "./certified.ts";
import { KmsKeyRing } from "./key-ring.ts";
import type { Signer } from "./signer.ts";

/** The broker's own identity towards the KMSes; default the SDK chains (AWS default chain, Google ADC). */
export interface KmsIdentity {
  awsCredentials?: AwsKmsSignerOptions["credentials"];
  gcpAuthClient?: GcpAuthClient;
}

/** A Signer for one configured KMS key; each SDK is loaded only when the config names its KMS. */
export async function createKmsSigner(ref: KmsKeyConfig, identity: KmsIdentity = {}): Promise<Signer> {
  const timeoutMs = ref.timeout * 1000;
  if (ref.aws) {
    const { createAwsKmsSigner } = await import("./aws-kms.ts");
    const { keyId, region, endpoint, algorithm } = ref.aws;
    return createAwsKmsSigner({
      keyId,
      region,
      timeoutMs,
      ...(endpoint === undefined ? {} : { endpoint }),
      ...(algorithm === undefined ? {} : { algorithm }),
      ...(identity.awsCredentials === undefined ? {} : { credentials: identity.awsCredentials }),
    });
  }
  if (ref.gcp) {
    const { createGcpKmsSigner } = await import("./gcp-kms.ts");
    const { keyVersion, apiEndpoint, port, protocol } = ref.gcp;
    return createGcpKmsSigner({
      keyVersion,
      timeoutMs,
      ...(apiEndpoint === undefined ? {} : { apiEndpoint }),
      ...(port === undefined ? {} : { port }),
      ...(protocol === undefined ? {} : { protocol }),
      ...(identity.gcpAuthClient === undefined ? {} : { authClient: identity.gcpAuthClient }),
    });
  }
  throw new TypeError("a KMS key names aws or gcp");
}

export interface KmsKeyRingDeps {
  logger: Logger;
  clock: Clock;
  identity?: KmsIdentity;
  /** Where certified keys are shared (the store); read only once the ring starts. */
  directory: CertifiedKeyDirectory;
}

/** `signing.kms` → the key ring; public keys are not fetched yet (`load()`). */
export async function createKmsKeyRing(config: Config, deps: KmsKeyRingDeps): Promise<KmsKeyRing> {
  const entries = config.signing.kms ?? [];
  const statuses = resolveKmsStatuses(entries);
  if (typeof statuses === "string") throw new TypeError(`signing.kms: ${statuses}`);
  const signers = await Promise.all(entries.map((e) => createKmsSigner(e, deps.identity)));
  const ring = signers.map((signer, i) => ({
    signer,
    status: statuses[i] ?? "retired",
    mode: entries[i]?.mode ?? "direct",
  }));
  const active = entries[statuses.indexOf("active")];
  const certified =
    active?.mode === "certified"
      ? new CertifiedSigning({
          issuer: config.issuer,
          alg: config.signing.algorithm,
          keyLifetime: active.keyLifetime,
          directory: deps.directory,
          clock: deps.clock,
          logger: deps.logger,
        })
      : undefined;
  return new KmsKeyRing(ring, config.issuer, deps.logger, deps.clock, certified);
}
