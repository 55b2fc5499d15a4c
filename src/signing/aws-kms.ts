import { createHash, createPublicKey } from "node:crypto";
import { GetPublicKeyCommand, KMSClient, type KMSClientConfig, SignCommand } from "@aws-sdk/client-kms";
import { BrokerError } from "../errors.ts";
import { keyFitsAlgorithm } from "../jose/jwa.ts";
import {
  AWS_SIGNING_ALGORITHM,
  awsKeySpecAlgorithms,
  type KmsAlgorithm,
  kmsSignatureToJose,
} from "./kms-algorithms.ts";
import { type KmsCallOptions, KmsKeyError, kmsCall } from "./kms-call.ts";
import { cachedPublicKey } from "./public-key-cache.ts";
import type { PublicKeyInfo, Signer } from "./signer.ts";

type KmsKeyInfo = PublicKeyInfo & { alg: KmsAlgorithm };

/**
 * An asymmetric SIGN_VERIFY key in AWS KMS (JSON 1.1 `TrentService.GetPublicKey` / `TrentService.Sign`). The
 * broker hashes the signing input itself and sends only the 32-byte digest (MessageType DIGEST): KMS `Message`
 * is limited to 4096 bytes, and a digest never carries token content to KMS or its CloudTrail.
 */
export interface AwsKmsSignerOptions extends KmsCallOptions {
  keyId: string;
  region: string;
  /** Endpoint override (tests, VPC endpoints). */
  endpoint?: string;
  /** For an RSA key: RS256 (default) or PS256. */
  algorithm?: KmsAlgorithm;
  /** The broker's AWS identity; default the SDK default chain. */
  credentials?: KMSClientConfig["credentials"];
}

export function createAwsKmsSigner(options: AwsKmsSignerOptions): Signer {
  const kms = new KMSClient({
    region: options.region,
    // Retries are ours (kms-call.ts), bounded by the deadline.
    maxAttempts: 1,
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
  });
  const call = <T>(signal: AbortSignal, attempt: (s: AbortSignal) => Promise<T>) =>
    kmsCall("aws-kms", signal, options, attempt);

  const publicKey = cachedPublicKey(async (signal): Promise<KmsKeyInfo> => {
    const out = await call(signal, (abortSignal) =>
      kms.send(new GetPublicKeyCommand({ KeyId: options.keyId }), { abortSignal }),
    );
    if (out.KeyUsage !== "SIGN_VERIFY" || !out.PublicKey) {
      throw new KmsKeyError(`${options.keyId}: not an asymmetric SIGN_VERIFY key`);
    }
    const possible = awsKeySpecAlgorithms(out.KeySpec);
    const alg = options.algorithm ?? possible[0];
    if (
      alg === undefined ||
      !possible.includes(alg) ||
      !(out.SigningAlgorithms ?? []).some((a) => a === AWS_SIGNING_ALGORITHM[alg])
    ) {
      throw new KmsKeyError(`${options.keyId}: key spec ${out.KeySpec ?? "?"} cannot sign ${alg ?? "JWS"}`);
    }
    const key = createPublicKey({ key: Buffer.from(out.PublicKey), format: "der", type: "spki" });
    if (!keyFitsAlgorithm(key, alg))
      throw new KmsKeyError(`${options.keyId}: the public key does not fit ${alg}`);
    return { key, alg };
  });

  return {
    backend: "aws-kms",
    label: options.keyId,
    publicKey,
    async sign(input, signal) {
      const { alg } = await publicKey(signal);
      const digest = createHash("sha256").update(input).digest();
      const out = await call(signal, (abortSignal) =>
        kms.send(
          new SignCommand({
            KeyId: options.keyId,
            Message: digest,
            MessageType: "DIGEST",
            SigningAlgorithm: AWS_SIGNING_ALGORITHM[alg] as never,
          }),
          { abortSignal },
        ),
      );
      if (!out.Signature) {
        throw new BrokerError("server_error", { reason: "upstream.aws-kms.error", detail: "no Signature" });
      }
      return kmsSignatureToJose(alg, out.Signature);
    },
  };
}
