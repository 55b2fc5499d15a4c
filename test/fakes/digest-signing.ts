import { constants, createECDH, createHash, type KeyObject, privateEncrypt, randomBytes } from "node:crypto";
import { rawToDer } from "../../src/jose/ecdsa-der.ts";

/**
 * What a KMS does and node:crypto does not offer: signing a digest the client computed (AWS MessageType DIGEST,
 * Cloud KMS `digest.sha256`). The fakes use it; tests then verify the result with ordinary node:crypto / jose
 * verification over the message, which proves both the fakes and the broker's digest handling.
 */

/** P-256 group order n (SEC 2 §2.4.2). */
const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

const toBig = (b: Uint8Array): bigint => BigInt(`0x${Buffer.from(b).toString("hex") || "0"}`);
const toBytes = (v: bigint, size: number): Buffer =>
  Buffer.from(v.toString(16).padStart(size * 2, "0"), "hex");
const mod = (a: bigint, m: bigint): bigint => ((a % m) + m) % m;

function inverse(a: bigint, m: bigint): bigint {
  let [oldR, r] = [mod(a, m), m];
  let [oldS, s] = [1n, 0n];
  while (r !== 0n) {
    const q = oldR / r;
    [oldR, r] = [r, oldR - q * r];
    [oldS, s] = [s, oldS - q * s];
  }
  return mod(oldS, m);
}

/** ECDSA over P-256 of a 32-byte digest (SEC 1 §4.1.3), DER-encoded as KMS returns it; kG from native ECDH. */
export function ecdsaSignDigest(privateKey: KeyObject, digest: Buffer): Buffer {
  const d = toBig(Buffer.from(privateKey.export({ format: "jwk" }).d ?? "", "base64url"));
  const z = toBig(digest);
  for (;;) {
    const k = mod(toBig(randomBytes(40)), P256_N - 1n) + 1n;
    const ecdh = createECDH("prime256v1");
    ecdh.setPrivateKey(toBytes(k, 32));
    const point = ecdh.getPublicKey(); // 0x04 || X || Y
    const r = mod(toBig(point.subarray(1, 33)), P256_N);
    if (r === 0n) continue;
    const s = mod(inverse(k, P256_N) * (z + r * d), P256_N);
    if (s === 0n) continue;
    return rawToDer(Buffer.concat([toBytes(r, 32), toBytes(s, 32)]));
  }
}

/** RFC 8017 §9.2 EMSA-PKCS1-v1_5 DigestInfo prefix for SHA-256. */
const SHA256_DIGEST_INFO = Buffer.from("3031300d060960864801650304020105000420", "hex");

export function rsaPkcs1SignDigest(privateKey: KeyObject, digest: Buffer): Buffer {
  return privateEncrypt(
    { key: privateKey, padding: constants.RSA_PKCS1_PADDING },
    Buffer.concat([SHA256_DIGEST_INFO, digest]),
  );
}

function mgf1(seed: Buffer, length: number): Buffer {
  const out: Buffer[] = [];
  for (let counter = 0; out.length * 32 < length; counter++) {
    const c = Buffer.alloc(4);
    c.writeUInt32BE(counter);
    out.push(createHash("sha256").update(seed).update(c).digest());
  }
  return Buffer.concat(out).subarray(0, length);
}

/** RFC 8017 §9.1.1 EMSA-PSS-ENCODE with SHA-256, MGF1-SHA-256 and a 32-byte salt, then RSASP1. */
export function rsaPssSignDigest(privateKey: KeyObject, digest: Buffer): Buffer {
  const modBits = privateKey.asymmetricKeyDetails?.modulusLength ?? 2048;
  const emBits = modBits - 1;
  const emLen = Math.ceil(emBits / 8);
  const salt = randomBytes(32);
  const h = createHash("sha256").update(Buffer.alloc(8)).update(digest).update(salt).digest();
  const db = Buffer.concat([Buffer.alloc(emLen - 32 - 32 - 2), Buffer.from([1]), salt]);
  const mask = mgf1(h, emLen - 32 - 1);
  for (let i = 0; i < db.length; i++) db[i] = (db[i] ?? 0) ^ (mask[i] ?? 0);
  db[0] = (db[0] ?? 0) & (0xff >> (8 * emLen - emBits));
  const em = Buffer.concat([db, h, Buffer.from([0xbc])]);
  const padded = Buffer.concat([Buffer.alloc(modBits / 8 - em.length), em]);
  return privateEncrypt({ key: privateKey, padding: constants.RSA_NO_PADDING }, padded);
}

export type DigestAlgorithm = "ES256" | "RS256" | "PS256";

export function signDigest(alg: DigestAlgorithm, privateKey: KeyObject, digest: Buffer): Buffer {
  if (alg === "ES256") return ecdsaSignDigest(privateKey, digest);
  if (alg === "RS256") return rsaPkcs1SignDigest(privateKey, digest);
  return rsaPssSignDigest(privateKey, digest);
}

/** A delay the fakes add to every call (the benchmark's injected KMS latency). */
export const pause = (ms: number): Promise<void> =>
  ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve();
