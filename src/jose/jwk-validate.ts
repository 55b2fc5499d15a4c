/**
 * Validation of a public JWK before it may verify anything, as a careful crypto library does: node:crypto
 * imports degenerate keys (RSA e = 1 turns PKCS#1 v1.5 "verification" into comparing the padded digest, which
 * anyone can forge). Returns a reason when the key must be dropped, undefined when it is sound.
 */

/** FIPS 186-5 §5.4 (and SP 800-56B §6.2): 2^16 < e < 2^256, e odd. */
const MIN_RSA_E = 65537n;
const MAX_RSA_E = 1n << 256n;
/** RFC 7518 §3.3: at least 2048 bits; above 16384 a verify is a denial of service, not security. */
export const MIN_RSA_BITS = 2048;
export const MAX_RSA_BITS = 16384;

interface Curve {
  p: bigint;
  a: bigint;
  b: bigint;
  bytes: number;
}

/** SEC 2 / FIPS 186-5 curve parameters (a = -3 mod p for the NIST prime curves). */
const CURVES: Readonly<Record<string, Curve>> = {
  "P-256": {
    p: 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn,
    a: 0xffffffff00000001000000000000000000000000fffffffffffffffffffffffcn,
    b: 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn,
    bytes: 32,
  },
  "P-384": {
    p: 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffffn,
    a: 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000fffffffcn,
    b: 0xb3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aefn,
    bytes: 48,
  },
  "P-521": {
    p: (1n << 521n) - 1n,
    a: (1n << 521n) - 4n,
    b: 0x0051953eb9618e1c9a1f929a21a0b68540eea2da725b99b315f3b8b489918ef109e156193951ec7e937b1652c0bd3bb1bf073573df883d2c34f1ef451fd46b503f00n,
    bytes: 66,
  },
};

/** RFC 8037 §2: signature curves and their public key lengths (X25519/X448 are key agreement, not signatures). */
const OKP_LENGTHS: Readonly<Record<string, number>> = { Ed25519: 32, Ed448: 57 };

const B64URL = /^[A-Za-z0-9_-]+$/;

function bytes(value: string): Buffer | undefined {
  if (!B64URL.test(value) || value.length % 4 === 1) return undefined;
  const buf = Buffer.from(value, "base64url");
  // One spelling per value: re-encoding must give the same text (no stray trailing bits).
  return buf.toString("base64url") === value ? buf : undefined;
}

const toBigInt = (b: Buffer): bigint => (b.length === 0 ? 0n : BigInt(`0x${b.toString("hex")}`));
const mod = (x: bigint, p: bigint) => ((x % p) + p) % p;

function modPow(base: bigint, exp: bigint, m: bigint): bigint {
  let result = 1n;
  let b = mod(base, m);
  let e = exp;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % m;
    b = (b * b) % m;
    e >>= 1n;
  }
  return result;
}

function rsaProblem(n: string, e: string): string | undefined {
  const nb = bytes(n);
  const eb = bytes(e);
  if (!nb || !eb) return "RSA n or e is not base64url";
  const modulus = toBigInt(nb);
  const exponent = toBigInt(eb);
  // RFC 7518 §6.3.1.1: n and e are unsigned big-endian integers without leading zero octets.
  if (nb[0] === 0 || eb[0] === 0) return "RSA n or e has a leading zero octet";
  const bits = modulus.toString(2).length;
  if (bits < MIN_RSA_BITS || bits > MAX_RSA_BITS)
    return `RSA modulus of ${bits} bits (${MIN_RSA_BITS}–${MAX_RSA_BITS} allowed)`;
  if ((modulus & 1n) === 0n) return "RSA modulus is even";
  if ((exponent & 1n) === 0n) return "RSA exponent is even";
  if (exponent < MIN_RSA_E || exponent >= MAX_RSA_E) return "RSA exponent outside 65537 ≤ e < 2^256";
  return undefined;
}

function ecProblem(crv: string, x: string, y: string): string | undefined {
  const curve = CURVES[crv];
  if (!curve) return `unsupported EC curve ${crv.slice(0, 16)}`;
  const xb = bytes(x);
  const yb = bytes(y);
  // RFC 7518 §6.2.1.2/3: x and y are exactly the curve's coordinate size.
  if (!xb || !yb || xb.length !== curve.bytes || yb.length !== curve.bytes)
    return `EC coordinates are not ${curve.bytes} bytes`;
  const px = toBigInt(xb);
  const py = toBigInt(yb);
  if (px >= curve.p || py >= curve.p) return "EC coordinate is not reduced modulo p";
  // SEC 1 §3.2.2.1: the point satisfies y² = x³ + ax + b (mod p); the point at infinity has no affine form.
  const left = (py * py) % curve.p;
  const right = mod(modPow(px, 3n, curve.p) + curve.a * px + curve.b, curve.p);
  if (left !== right) return "EC point is not on the curve";
  return undefined;
}

function okpProblem(crv: string, x: string): string | undefined {
  const length = OKP_LENGTHS[crv];
  if (length === undefined) return `unsupported OKP curve ${crv.slice(0, 16)}`;
  const xb = bytes(x);
  if (!xb || xb.length !== length) return `OKP x is not ${length} bytes`;
  return undefined;
}

/** Why the public members of a JWK make an unsafe or malformed key; undefined when sound. */
export function publicJwkProblem(jwk: Readonly<Record<string, string>>): string | undefined {
  switch (jwk.kty) {
    case "RSA":
      return rsaProblem(jwk.n ?? "", jwk.e ?? "");
    case "EC":
      return ecProblem(jwk.crv ?? "", jwk.x ?? "", jwk.y ?? "");
    case "OKP":
      return okpProblem(jwk.crv ?? "", jwk.x ?? "");
    default:
      return "unsupported kty";
  }
}
