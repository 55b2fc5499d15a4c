import { createPrivateKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { SigningAlgorithm } from "../config/schema.ts";
import { jwkThumbprint, KeySetError, type SigningKey } from "../mint/keys.ts";

/**
 * Reads the broker's private signing keys from `signing.keysDir`: PEM (PKCS#8/SEC1/PKCS#1) or JWK JSON files.
 * A JWK may carry `nbf` (epoch seconds): the key becomes active then, which is how a rotation is staged.
 * The kid is the RFC 7638 thumbprint unless the JWK names one.
 */
export function loadSigningKeys(dir: string, alg: SigningAlgorithm): SigningKey[] {
  let names: string[];
  try {
    names = readdirSync(dir)
      .filter((n) => /\.(pem|key|jwk|json)$/.test(n))
      .sort();
  } catch {
    throw new KeySetError(`${dir}: cannot read the signing keys directory`);
  }
  const keys = names.map((name) => readKey(join(dir, name), alg));
  if (keys.length === 0) throw new KeySetError(`${dir}: no signing keys (*.pem, *.jwk, *.json)`);
  return keys;
}

/** A problem with a key file, described without ever quoting the file (it holds private key material). */
class KeyFileProblem extends Error {}

function parseJwk(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new KeyFileProblem("not JSON");
  }
  if (typeof value !== "object" || value === null || typeof (value as { d?: unknown }).d !== "string") {
    throw new KeyFileProblem("not a private JWK");
  }
  return value as Record<string, unknown>;
}

function readKey(file: string, alg: SigningAlgorithm): SigningKey {
  const text = readFileSync(file, "utf8");
  let privateKey: KeyObject;
  let kid: string | undefined;
  let notBefore = 0;
  try {
    if (text.trimStart().startsWith("{")) {
      const jwk = parseJwk(text);
      if (typeof jwk.alg === "string" && jwk.alg !== alg) {
        throw new KeyFileProblem(`the key's alg differs from signing.algorithm ${alg}`);
      }
      privateKey = createPrivateKey({ key: jwk as never, format: "jwk" });
      if (typeof jwk.kid === "string") kid = jwk.kid;
      if (typeof jwk.nbf === "number") notBefore = jwk.nbf * 1000;
    } else {
      privateKey = createPrivateKey(text);
    }
  } catch (e) {
    // Never echo key material: parser messages can quote the input, so only our own fixed messages pass.
    throw new KeySetError(
      `${file}: not a usable private key (${e instanceof KeyFileProblem ? e.message : "cannot be parsed"})`,
    );
  }
  return { kid: kid ?? jwkThumbprint(privateKey), alg, privateKey, notBefore };
}

export function generatePrivateKey(alg: SigningAlgorithm): KeyObject {
  switch (alg) {
    case "ES256":
      return generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
    case "EdDSA":
      return generateKeyPairSync("ed25519").privateKey;
    case "RS256":
    case "PS256":
      return generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;
  }
}

/** An ephemeral key for a broker started without `signing.keysDir`: tokens stop verifying after a restart. */
export function ephemeralSigningKey(alg: SigningAlgorithm): SigningKey {
  const privateKey = generatePrivateKey(alg);
  return { kid: jwkThumbprint(privateKey), alg, privateKey, notBefore: 0 };
}
