import { createPublicKey, type KeyObject } from "node:crypto";
import type { SigningAlgorithm } from "../config/schema.ts";
import { createSignature, keyFitsAlgorithm } from "../jose/jwa.ts";
import type { PublicKeyInfo, Signer, SignerBackend } from "./signer.ts";

/** A private key held in memory: a key file's, or a certified instance key (signing/certified.ts). */
export function keyObjectSigner(
  privateKey: KeyObject,
  alg: SigningAlgorithm,
  backend: Extract<SignerBackend, "file" | "memory">,
  label: string,
): Signer {
  const info: PublicKeyInfo = { key: createPublicKey(privateKey), alg };
  if (!keyFitsAlgorithm(info.key, alg)) throw new TypeError(`key ${label} does not fit ${alg}`);
  const known = Promise.resolve(info);
  return {
    backend,
    label,
    publicKey: () => known,
    sign: async (input) => createSignature(alg, privateKey, input),
  };
}
