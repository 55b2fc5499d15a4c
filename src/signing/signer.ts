import type { KeyObject } from "node:crypto";
import type { SigningAlgorithm } from "../config/schema.ts";

/** Where a private key lives. Only `file` and `memory` keys are ever in the broker's memory. */
export type SignerBackend = "file" | "memory" | "aws-kms" | "gcp-kms";

/** What a signer's public half looks like once known (for KMS keys: fetched once, then cached). */
export interface PublicKeyInfo {
  key: KeyObject;
  /** The JWS `alg` (RFC 7518 §3.1) this key signs with. */
  alg: SigningAlgorithm;
}

/**
 * One private key, wherever it lives: a key file, an in-memory key, AWS KMS or Cloud KMS. The broker's token
 * signing (signing/key-ring.ts) and the GitHub App JWT both sign through this interface, so neither knows
 * where the key is.
 */
export interface Signer {
  readonly backend: SignerBackend;
  /** A name safe to show in readiness and logs (a key ARN, a key version resource name); never key material. */
  readonly label: string;
  /** The public key and algorithm. Rejects with BrokerError("unavailable") while the KMS cannot be reached. */
  publicKey(signal: AbortSignal): Promise<PublicKeyInfo>;
  /** The JWS signature over `input` as RFC 7515 §5.1 carries it (RFC 7518 §3.4: ECDSA as R || S, not DER). */
  sign(input: Buffer, signal: AbortSignal): Promise<Buffer>;
}
