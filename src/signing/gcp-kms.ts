import { createHash, createPublicKey } from "node:crypto";
import { KeyManagementServiceClient, protos } from "@google-cloud/kms";
import { BrokerError } from "../errors.ts";
import { keyFitsAlgorithm } from "../jose/jwa.ts";
import type { GcpAuthClient } from "../mint/gcp.ts";
import { abortable } from "../util/retry.ts";
import { gcpAlgorithm, type KmsAlgorithm, kmsSignatureToJose } from "./kms-algorithms.ts";
import { type KmsCallOptions, KmsKeyError, kmsCall } from "./kms-call.ts";
import { cachedPublicKey } from "./public-key-cache.ts";
import type { PublicKeyInfo, Signer } from "./signer.ts";

type KmsKeyInfo = PublicKeyInfo & { alg: KmsAlgorithm };

/**
 * An asymmetric-signing key version in Google Cloud KMS: `getPublicKey` and `asymmetricSign` over REST (the client
 * library's HTTP fallback, so `apiEndpoint/port/protocol: http` reaches a plain HTTP test endpoint), with the
 * broker's Application Default Credentials. The broker sends only the SHA-256 digest of the signing input.
 */
export interface GcpKmsSignerOptions extends KmsCallOptions {
  /** `projects/…/locations/…/keyRings/…/cryptoKeys/…/cryptoKeyVersions/N` */
  keyVersion: string;
  apiEndpoint?: string;
  port?: number;
  protocol?: "http" | "https";
  authClient?: GcpAuthClient;
}

type ClientOptions = NonNullable<ConstructorParameters<typeof KeyManagementServiceClient>[0]>;

export function createGcpKmsSigner(options: GcpKmsSignerOptions): Signer {
  const client = new KeyManagementServiceClient({
    fallback: true,
    ...(options.apiEndpoint === undefined ? {} : { apiEndpoint: options.apiEndpoint }),
    ...(options.port === undefined ? {} : { port: options.port }),
    ...(options.protocol === undefined ? {} : { protocol: options.protocol }),
    // As in mint/gcp.ts: the REST transport only calls getRequestHeaders() and fetch().
    ...(options.authClient === undefined
      ? {}
      : { authClient: options.authClient as unknown as NonNullable<ClientOptions["authClient"]> }),
  });
  const name = options.keyVersion;
  // gax retries on its own unless told not to: the retries are kms-call.ts's, bounded by the deadline.
  const call = <T>(signal: AbortSignal, attempt: () => Promise<T>) =>
    kmsCall("gcp-kms", signal, options, (s) => abortable(attempt(), s));

  const publicKey = cachedPublicKey(async (signal): Promise<KmsKeyInfo> => {
    const [out] = await call(signal, () => client.getPublicKey({ name }, { retry: null }));
    const algorithmName = enumName(out.algorithm);
    const alg = gcpAlgorithm(algorithmName);
    if (alg === undefined || !out.pem) {
      throw new KmsKeyError(
        `${name}: algorithm ${algorithmName || "?"} is not one the broker signs JWTs with`,
      );
    }
    const key = createPublicKey(out.pem);
    if (!keyFitsAlgorithm(key, alg)) throw new KmsKeyError(`${name}: the public key does not fit ${alg}`);
    return { key, alg };
  });

  return {
    backend: "gcp-kms",
    label: name,
    publicKey,
    async sign(input, signal) {
      const { alg } = await publicKey(signal);
      const sha256 = createHash("sha256").update(input).digest();
      const [out] = await call(signal, () =>
        client.asymmetricSign({ name, digest: { sha256 } }, { retry: null }),
      );
      const signature = out.signature;
      if (!signature || signature.length === 0) {
        throw new BrokerError("server_error", { reason: "upstream.gcp-kms.error", detail: "no signature" });
      }
      return kmsSignatureToJose(
        alg,
        typeof signature === "string" ? Buffer.from(signature, "base64") : signature,
      );
    },
  };
}

const ALGORITHMS: Record<string, unknown> =
  protos.google.cloud.kms.v1.CryptoKeyVersion.CryptoKeyVersionAlgorithm;

/** The REST transport asks for enums as numbers (`enum-encoding=int`): back to the CryptoKeyVersionAlgorithm name. */
function enumName(value: unknown): string {
  if (typeof value === "string") return value;
  return Object.entries(ALGORITHMS).find(([, v]) => v === value)?.[0] ?? "";
}
