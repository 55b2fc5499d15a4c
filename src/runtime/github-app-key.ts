import { createPrivateKey, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import type { GithubConfig } from "../config/github-schema.ts";
import { createKmsSigner, type KmsIdentity } from "../signing/from-config.ts";
import { keyObjectSigner } from "../signing/key-object.ts";
import type { Signer } from "../signing/signer.ts";

export class GithubAppKeyError extends Error {
  override name = "GithubAppKeyError";
}

/**
 * The GitHub App's private key as a Signer: the PEM file GitHub hands out (PKCS#1 `BEGIN RSA PRIVATE KEY`, or
 * PKCS#8), or a KMS key. Errors name the file, never its content.
 */
export async function githubAppSigner(github: GithubConfig, identity: KmsIdentity = {}): Promise<Signer> {
  if (github.privateKey) return createKmsSigner(github.privateKey.kms, identity);
  const file = github.privateKeyFile as string;
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    throw new GithubAppKeyError(`${file}: cannot read the GitHub App private key`);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(text);
  } catch {
    throw new GithubAppKeyError(`${file}: not a PEM private key`);
  }
  if (key.asymmetricKeyType !== "rsa" || (key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) {
    throw new GithubAppKeyError(`${file}: a GitHub App key is an RSA key of at least 2048 bits`);
  }
  return keyObjectSigner(key, "RS256", "file", "github-app");
}
