/**
 * JWKS keys are validated before use (FIPS 186-5 §5.4, SEC 1 §3.2.2.1, RFC 8037 §2): degenerate keys are dropped
 * with a log line and a metric while the rest of the JWKS keeps working, and a kid-less token is tried against a
 * bounded number of keys.
 */
import assert from "node:assert/strict";
import { createHash, generateKeyPairSync, type JsonWebKey, type KeyObject } from "node:crypto";
import { describe, it } from "node:test";
import fc from "fast-check";
import { DEFAULT_FETCH_LIMITS } from "../../src/identity/fetch.ts";
import { type KeyRejection, MAX_KIDLESS_CANDIDATES, ProviderKeySource } from "../../src/identity/jwks.ts";
import { IdentityVerifier } from "../../src/identity/verifier.ts";
import { createSignature } from "../../src/jose/jwa.ts";
import { publicJwkProblem } from "../../src/jose/jwk-validate.ts";

const b64 = (n: bigint): string => {
  let hex = n.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  return Buffer.from(hex, "hex").toString("base64url");
};
const big = (s: string): bigint => BigInt(`0x${Buffer.from(s, "base64url").toString("hex")}`);

const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
const rsaJwk = rsa.publicKey.export({ format: "jwk" }) as Required<Pick<JsonWebKey, "n" | "e">>;
const pub = (jwk: JsonWebKey) => jwk as Record<string, string>;

describe("publicJwkProblem: RSA (property)", () => {
  it("accepts the real key, refuses every exponent outside odd 65537 ≤ e < 2^256", () => {
    assert.equal(publicJwkProblem({ kty: "RSA", n: rsaJwk.n, e: rsaJwk.e }), undefined);
    const badExponent = fc.oneof(
      fc.bigInt({ min: 1n, max: 65536n }),
      fc.bigInt({ min: 1n << 256n, max: 1n << 300n }),
      fc.bigInt({ min: 32769n, max: (1n << 255n) - 1n }).map((x) => x * 2n),
    );
    fc.assert(
      fc.property(badExponent, (e) => {
        assert.match(publicJwkProblem({ kty: "RSA", n: rsaJwk.n, e: b64(e) }) ?? "", /exponent/);
      }),
    );
    fc.assert(
      fc.property(fc.bigInt({ min: 32768n, max: (1n << 255n) - 1n }), (half) => {
        assert.equal(publicJwkProblem({ kty: "RSA", n: rsaJwk.n, e: b64(half * 2n + 1n) }), undefined);
      }),
    );
  });

  it("refuses moduli outside 2048–16384 bits and even moduli", () => {
    const modulus = fc
      .oneof(fc.integer({ min: 8, max: 2047 }), fc.integer({ min: 16385, max: 17000 }))
      .map((bits) => (1n << BigInt(bits - 1)) | 1n);
    fc.assert(
      fc.property(modulus, (n) => {
        assert.match(publicJwkProblem({ kty: "RSA", n: b64(n), e: "AQAB" }) ?? "", /modulus/);
      }),
    );
    assert.match(publicJwkProblem({ kty: "RSA", n: b64(big(rsaJwk.n) ^ 1n), e: "AQAB" }) ?? "", /even/);
  });
});

const CURVES = ["P-256", "P-384", "P-521"] as const;
const ecKeys = Object.fromEntries(
  CURVES.map((c) => [
    c,
    pub(generateKeyPairSync("ec", { namedCurve: c }).publicKey.export({ format: "jwk" })),
  ]),
);

describe("publicJwkProblem: EC and OKP (property)", () => {
  it("accepts real points of every curve and refuses any point moved off the curve", () => {
    fc.assert(
      fc.property(fc.constantFrom(...CURVES), fc.bigInt({ min: 1n, max: 1n << 64n }), (crv, delta) => {
        const k = ecKeys[crv] as Record<string, string>;
        assert.equal(publicJwkProblem(k), undefined);
        const size = Buffer.from(k.y ?? "", "base64url").length;
        const moved = (big(k.y ?? "") + delta) % (1n << BigInt(size * 8));
        const y = Buffer.from(moved.toString(16).padStart(size * 2, "0"), "hex").toString("base64url");
        assert.match(publicJwkProblem({ ...k, y }) ?? "", /not on the curve|not reduced/);
      }),
    );
  });

  it("refuses random coordinates and wrong lengths", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...CURVES),
        fc.uint8Array({ minLength: 1, maxLength: 80 }),
        fc.uint8Array({ minLength: 1, maxLength: 80 }),
        (crv, x, y) => {
          const e = (u: Uint8Array) => Buffer.from(u).toString("base64url");
          assert.notEqual(publicJwkProblem({ kty: "EC", crv, x: e(x), y: e(y) }), undefined);
        },
      ),
    );
  });

  it("OKP: Ed25519 takes exactly 32 bytes; key-agreement curves are not signature keys", () => {
    const ed = pub(generateKeyPairSync("ed25519").publicKey.export({ format: "jwk" }));
    assert.equal(publicJwkProblem(ed), undefined);
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 64 }).filter((u) => u.length !== 32),
        (x) => {
          const text = Buffer.from(x).toString("base64url");
          assert.notEqual(publicJwkProblem({ kty: "OKP", crv: "Ed25519", x: text }), undefined);
        },
      ),
    );
    assert.match(publicJwkProblem({ ...ed, crv: "X25519" }) ?? "", /unsupported/);
  });
});

// ---- through the key source and the verifier ---------------------------------------------------------------

const ISSUER = "https://issuer.test";
const NOW = 1_800_000_000;

function keySource(keys: unknown[], rejected: KeyRejection[]) {
  const body = JSON.stringify({ keys });
  return new ProviderKeySource({
    name: "p",
    issuer: ISSUER,
    jwksUri: `${ISSUER}/jwks`,
    limits: DEFAULT_FETCH_LIMITS,
    clock: () => NOW * 1000,
    fetchImpl: async () => new Response(body, { headers: { "content-type": "application/json" } }),
    onKeyRejected: (r) => rejected.push(r),
  });
}

function verifier(keys: ProviderKeySource) {
  return new IdentityVerifier({
    providers: [{ name: "p", issuer: ISSUER, audiences: ["aud"], algorithms: ["RS256", "ES256"], keys }],
    clock: () => NOW * 1000,
    clockSkew: 60,
  });
}

const encode = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
function token(header: object, sign: (input: Buffer) => Buffer): string {
  const input = `${encode(header)}.${encode({ iss: ISSUER, aud: "aud", sub: "s", exp: NOW + 60, iat: NOW })}`;
  return `${input}.${sign(Buffer.from(input)).toString("base64url")}`;
}

/** With e = 1, s^e mod n = s: the EMSA-PKCS1-v1_5 encoding of the digest is its own "signature" (RFC 8017 §9.2). */
function forgeWithExponentOne(input: Buffer, modulusBytes: number): Buffer {
  const digestInfo = Buffer.concat([
    Buffer.from("3031300d060960864801650304020105000420", "hex"),
    createHash("sha256").update(input).digest(),
  ]);
  const pad = Buffer.alloc(modulusBytes - digestInfo.length - 3, 0xff);
  return Buffer.concat([Buffer.from([0, 1]), pad, Buffer.from([0]), digestInfo]);
}

describe("a JWKS with degenerate keys", () => {
  it("drops the e = 1 key (no forgery), reports it, and keeps the good keys usable", async () => {
    const rejected: KeyRejection[] = [];
    const weak = { kty: "RSA", kid: "weak", n: rsaJwk.n, e: "AQ" };
    const even = { kty: "RSA", kid: "even", n: rsaJwk.n, e: b64(65538n) };
    const good = { ...rsaJwk, kty: "RSA", kid: "good" };
    const v = verifier(keySource([weak, even, good], rejected));
    const forged = token({ alg: "RS256", kid: "weak" }, (i) => forgeWithExponentOne(i, 256));
    await assert.rejects(
      v.verify(forged),
      (e: Error & { reason?: string }) => e.reason === "jwt.unknown_key",
    );
    // Reported on every fetch (the unknown kid made one refetch), never used.
    assert.deepEqual([...new Set(rejected.map((r) => r.kid))], ["weak", "even"]);
    assert.ok(rejected.every((r) => /exponent/.test(r.reason) && !r.reason.includes(rsaJwk.n)));
    const honest = token({ alg: "RS256", kid: "good" }, (i) => createSignature("RS256", rsa.privateKey, i));
    assert.equal((await v.verify(honest)).subject, "s");
  });

  it("drops an off-curve EC key", async () => {
    const rejected: KeyRejection[] = [];
    const k = ecKeys["P-256"] as Record<string, string>;
    const offCurve = { ...k, kid: "off", y: b64((big(k.y ?? "") + 1n) | (1n << 255n)) };
    await assert.rejects(keySource([offCurve], rejected).keysFor("off", "ES256"));
    assert.deepEqual([...new Set(rejected.map((r) => r.kid))], ["off"]);
  });
});

describe("a token without kid", () => {
  it(`is tried against at most ${MAX_KIDLESS_CANDIDATES} fitting keys, so a many-key JWKS costs bounded work`, async () => {
    const pairs: KeyObject[] = [];
    const jwks = Array.from({ length: 12 }, (_, i) => {
      const kp = generateKeyPairSync("rsa", { modulusLength: 2048 });
      pairs.push(kp.privateKey);
      return { ...kp.publicKey.export({ format: "jwk" }), kid: `k${i}` };
    });
    // Keys that do not fit RS256 are no candidates at all: they do not use up the bound.
    const ec = generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({ format: "jwk" });
    const source = keySource([ec, ec, ec, ...jwks], []);
    assert.equal((await source.keysFor(undefined, "RS256")).length, MAX_KIDLESS_CANDIDATES);
    const v = verifier(source);
    const signedBy = (i: number) =>
      token({ alg: "RS256" }, (input) => createSignature("RS256", pairs[i] as KeyObject, input));
    assert.equal((await v.verify(signedBy(0))).subject, "s");
    await assert.rejects(
      v.verify(signedBy(11)),
      (e: Error & { reason?: string }) => e.reason === "jwt.bad_signature",
    );
  });
});
