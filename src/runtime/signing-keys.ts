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

function readKey(file: string, alg: SigningAlgorithm): SigningKey {
  const text = readFileSync(file, "utf8");
  let privateKey: KeyObject;
  let kid: string | undefined;
  let notBefore = 0;
  try {
    if (text.trimStart().startsWith("{")) {
      const jwk = JSON.parse(text) as Record<string, unknown>;
      if (typeof jwk.d !== "string") throw new Error("not a private JWK");
      privateKey = createPrivateKey({ key: jwk as never, format: "jwk" });
      if (typeof jwk.kid === "string") kid = jwk.kid;
      if (typeof jwk.nbf === "number") notBefore = jwk.nbf * 1000;
      if (typeof jwk.alg === "string" && jwk.alg !== alg)
        throw new Error(`key is for ${jwk.alg}, signing.algorithm is ${alg}`);
    } else {
      privateKey = createPrivateKey(text);
    }
  } catch (e) {
    // Never echo key material: name the file and the kind of problem only.
    throw new KeySetError(
      `${file}: not a usable private key (${e instanceof Error && !e.message.includes("-----") ? e.message : "parse error"})`,
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
