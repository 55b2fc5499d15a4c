import type { SigningAlgorithm } from "../config/schema.ts";
import { derToRaw } from "../jose/ecdsa-der.ts";

/**
 * The JWS algorithms (RFC 7518 §3.1) a KMS key can produce, and how each KMS names them. KMS signs a SHA-256
 * digest the broker computes (AWS MessageType DIGEST, Cloud KMS `digest.sha256`); PSS salts are the digest length
 * in both KMSes, as RFC 7518 §3.5 requires for PS256.
 */
export type KmsAlgorithm = Extract<SigningAlgorithm, "ES256" | "RS256" | "PS256">;

/** AWS KMS SigningAlgorithmSpec per JWS alg. */
export const AWS_SIGNING_ALGORITHM: Readonly<Record<KmsAlgorithm, string>> = {
  ES256: "ECDSA_SHA_256",
  RS256: "RSASSA_PKCS1_V1_5_SHA_256",
  PS256: "RSASSA_PSS_SHA_256",
};

/** AWS KMS KeySpec → the JWS algorithms that key can sign (the first is the default). */
export function awsKeySpecAlgorithms(keySpec: string | undefined): readonly KmsAlgorithm[] {
  if (keySpec === "ECC_NIST_P256") return ["ES256"];
  if (keySpec === "RSA_2048" || keySpec === "RSA_3072" || keySpec === "RSA_4096") return ["RS256", "PS256"];
  return [];
}

/** Cloud KMS CryptoKeyVersionAlgorithm (by name) → JWS alg; a Cloud KMS key version has exactly one algorithm. */
export function gcpAlgorithm(name: string): KmsAlgorithm | undefined {
  if (name === "EC_SIGN_P256_SHA256") return "ES256";
  if (/^RSA_SIGN_PKCS1_(2048|3072|4096)_SHA256$/.test(name)) return "RS256";
  if (/^RSA_SIGN_PSS_(2048|3072|4096)_SHA256$/.test(name)) return "PS256";
  return undefined;
}

/** Both KMSes return ECDSA signatures DER-encoded (X9.62); JWS carries R || S, 32 bytes each for P-256. */
export function kmsSignatureToJose(alg: KmsAlgorithm, signature: Uint8Array): Buffer {
  const bytes = Buffer.from(signature.buffer, signature.byteOffset, signature.byteLength);
  return alg === "ES256" ? derToRaw(bytes, 32) : Buffer.from(bytes);
}
