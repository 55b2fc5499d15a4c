/**
 * Properties of DPoP proof checking (RFC 9449 §4.3) and of the proof-key thumbprint (RFC 7638), written from the
 * RFCs: a proof whose bytes were changed in any way after signing is refused, a proof is accepted once, and the
 * synchronous thumbprint is the one jose computes for every key type a proof may use.
 */
import assert from "node:assert/strict";
import { generateKeyPairSync, type KeyObject, randomUUID } from "node:crypto";
import { describe, it } from "node:test";
import fc from "fast-check";
import { calculateJwkThumbprint, type JWK } from "jose";
import { BrokerError } from "../../src/errors.ts";
import { DpopVerifier } from "../../src/identity/dpop.ts";
import { ProofKeyCache } from "../../src/identity/dpop-key.ts";
import { createSignature } from "../../src/jose/jwa.ts";
import { thumbprintInput, thumbprintOf } from "../../src/jose/thumbprint.ts";
import { createMemoryStore } from "../../src/store/index.ts";

const ENDPOINT = "https://broker.example.com/token";
const RUNS = 150;
const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");

interface ProofKeyPair {
  alg: string;
  privateKey: KeyObject;
  jwk: Record<string, unknown>;
}

function keyPair(alg: "ES256" | "ES384" | "EdDSA" | "RS256"): ProofKeyPair {
  const pair =
    alg === "ES256"
      ? generateKeyPairSync("ec", { namedCurve: "P-256" })
      : alg === "ES384"
        ? generateKeyPairSync("ec", { namedCurve: "P-384" })
        : alg === "EdDSA"
          ? generateKeyPairSync("ed25519")
          : generateKeyPairSync("rsa", { modulusLength: 2048 });
  return { alg, privateKey: pair.privateKey, jwk: pair.publicKey.export({ format: "jwk" }) };
}

/** A compact proof from a header and payload as given, signed over exactly those bytes. */
function signed(k: ProofKeyPair, header: Record<string, unknown>, payload: Record<string, unknown>): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createSignature(k.alg, k.privateKey, Buffer.from(input)).toString("base64url")}`;
}

const validProof = (k: ProofKeyPair) =>
  signed(
    k,
    { alg: k.alg, typ: "dpop+jwt", jwk: k.jwk },
    { jti: randomUUID(), htm: "POST", htu: ENDPOINT, iat: Math.floor(Date.now() / 1000) },
  );

const verifier = () =>
  new DpopVerifier({
    tokenEndpoint: ENDPOINT,
    algorithms: ["ES256", "ES384", "EdDSA", "RS256"],
    clock: Date.now,
    replay: createMemoryStore().replay,
  });

async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof BrokerError, String(e));
    assert.equal(e.kind, "invalid_dpop_proof");
    return e.reason;
  }
  assert.fail("the proof was accepted");
}

describe("DPoP proof properties (RFC 9449 §4.3)", () => {
  const keys = [keyPair("ES256"), keyPair("ES384"), keyPair("EdDSA"), keyPair("RS256")];
  // One verifier for every run: its key cache then holds the real keys, so a cached key must not help a forgery.
  const v = verifier();

  it("any change of one character of a valid proof, in any segment, is refused", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...keys),
        fc.nat(),
        fc.constantFrom(...B64URL),
        async (k, at, replacement) => {
          const proof = validProof(k);
          const pos = at % proof.length;
          fc.pre(proof[pos] !== "." && proof[pos] !== replacement);
          const mutated = proof.slice(0, pos) + replacement + proof.slice(pos + 1);
          await refusal(v.verify(mutated, "POST"));
          // The untouched proof still passes: the refusal was the mutation's doing.
          await v.verify(proof, "POST");
        },
      ),
      { numRuns: RUNS },
    );
  });

  it("any change of a header or payload member, re-encoded without re-signing, is refused", async () => {
    const member = fc.oneof(
      fc.string({ maxLength: 12 }),
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
      fc.dictionary(fc.string({ maxLength: 4 }), fc.string({ maxLength: 8 }), { maxKeys: 2 }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...keys),
        fc.boolean(),
        fc.constantFrom("alg", "typ", "jwk", "jti", "htm", "htu", "iat", "kid", "nonce", "x"),
        fc.option(member, { nil: undefined }),
        async (k, inHeader, name, value) => {
          const [h, p, s] = validProof(k).split(".") as [string, string, string];
          const header = JSON.parse(Buffer.from(h, "base64url").toString()) as Record<string, unknown>;
          const payload = JSON.parse(Buffer.from(p, "base64url").toString()) as Record<string, unknown>;
          const target = inHeader ? header : payload;
          fc.pre(JSON.stringify(target[name]) !== JSON.stringify(value));
          if (value === undefined) delete target[name];
          else target[name] = value;
          await refusal(v.verify(`${b64(header)}.${b64(payload)}.${s}`, "POST"));
        },
      ),
      { numRuns: RUNS },
    );
  });

  it("a proof naming a key (even one the verifier has cached) but signed by another is refused", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...keys), async (k) => {
        await v.verify(validProof(k), "POST");
        const other = keyPair(k.alg as "ES256");
        const forged = signed(
          other,
          { alg: k.alg, typ: "dpop+jwt", jwk: k.jwk },
          { jti: randomUUID(), htm: "POST", htu: ENDPOINT, iat: Math.floor(Date.now() / 1000) },
        );
        assert.equal(await refusal(v.verify(forged, "POST")), "dpop.signature");
      }),
      { numRuns: 8 },
    );
  });

  it("each valid proof is accepted exactly once (§11.1)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...keys), fc.integer({ min: 1, max: 4 }), async (k, extra) => {
        const proof = validProof(k);
        await v.verify(proof, "POST");
        for (let i = 0; i < extra; i++) assert.equal(await refusal(v.verify(proof, "POST")), "dpop.replayed");
      }),
      { numRuns: 30 },
    );
  });
});

describe("proof-key thumbprints (RFC 7638)", () => {
  it("equal jose's calculateJwkThumbprint for EC, OKP and RSA keys, whatever other members the JWK has", async () => {
    const pairs = [keyPair("ES256"), keyPair("ES384"), keyPair("EdDSA"), keyPair("RS256")];
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...pairs),
        fc.dictionary(fc.constantFrom("alg", "use", "kid", "key_ops", "ext"), fc.string({ maxLength: 8 })),
        async (k, extra) => {
          const jwk = { ...extra, ...k.jwk };
          const expected = await calculateJwkThumbprint(jwk as JWK, "sha256");
          const input = thumbprintInput(jwk);
          assert.ok(input);
          assert.equal(thumbprintOf(input), expected);
          assert.equal(new ProofKeyCache().resolve(jwk)?.jkt, expected);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("a JWK without a required member, with a non-string one, or of an unknown kty has no thumbprint or key", () => {
    const { jwk } = keyPair("ES256");
    const cache = new ProofKeyCache();
    for (const broken of [
      { ...jwk, y: undefined },
      { ...jwk, x: 1 },
      { ...jwk, kty: "oct" },
      { ...jwk, kty: undefined },
      { ...jwk, crv: "P-999" },
      { ...jwk, x: "not-a-point" },
    ]) {
      assert.equal(cache.resolve(broken), undefined, JSON.stringify(broken));
    }
    assert.equal(thumbprintInput({ ...jwk, y: undefined }), undefined);
  });

  it("stays bounded: past its size the oldest key goes, and every key still resolves to itself", () => {
    const cache = new ProofKeyCache(2);
    const jwks = [keyPair("ES256"), keyPair("ES256"), keyPair("ES256")].map((k) => k.jwk);
    const first = jwks.map((j) => cache.resolve(j)?.jkt);
    const again = jwks.map((j) => cache.resolve(j)?.jkt);
    assert.deepEqual(again, first);
    assert.equal(new Set(first).size, 3);
    assert.throws(() => new ProofKeyCache(0), TypeError);
  });
});
