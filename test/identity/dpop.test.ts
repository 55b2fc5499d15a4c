import assert from "node:assert/strict";
import { generateKeyPairSync, randomUUID, sign } from "node:crypto";
import { describe, it } from "node:test";
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
import { BrokerError } from "../../src/errors.ts";
import { accessTokenHash, DpopVerifier } from "../../src/identity/dpop.ts";
import { DpopNonces } from "../../src/identity/dpop-nonce.ts";
import { createMemoryStore } from "../../src/store/index.ts";

const ENDPOINT = "https://broker.example.com/token";
const ALGS = ["ES256", "ES384", "EdDSA", "RS256", "PS256"];

interface ProofOptions {
  typ?: string;
  alg?: string;
  jwk?: Record<string, unknown>;
  claims?: Record<string, unknown>;
  /** Sign with this key instead of the one the header names. */
  signWith?: Awaited<ReturnType<typeof generateKeyPair>>["privateKey"];
}

async function client(alg = "ES256") {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = await exportJWK(publicKey);
  return {
    privateKey,
    jwk,
    jkt: await calculateJwkThumbprint(jwk),
    async proof(o: ProofOptions = {}): Promise<string> {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ jti: randomUUID(), htm: "POST", htu: ENDPOINT, iat: now, ...o.claims })
        .setProtectedHeader({ alg: o.alg ?? alg, typ: o.typ ?? "dpop+jwt", jwk: (o.jwk ?? jwk) as JWK })
        .sign(o.signWith ?? privateKey);
    },
  };
}

function verifier(opts: { nonces?: boolean; clock?: () => number } = {}) {
  const store = createMemoryStore();
  const clock = opts.clock ?? Date.now;
  return new DpopVerifier({
    tokenEndpoint: ENDPOINT,
    algorithms: ALGS,
    clock,
    replay: store.replay,
    nonces: opts.nonces ? new DpopNonces(store.replay, clock) : undefined,
  });
}

async function refused(p: Promise<unknown>, reason: string, kind = "invalid_dpop_proof") {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof BrokerError, String(e));
    assert.equal(e.kind, kind);
    assert.equal(e.reason, reason);
    return true;
  });
}

describe("DPoP proofs (RFC 9449 §4.3)", () => {
  it("accepts a valid proof and returns the RFC 7638 thumbprint of its key, for every allowed algorithm", async () => {
    const v = verifier();
    for (const alg of ALGS) {
      const c = await client(alg);
      const proof = await v.verify(await c.proof(), "POST");
      assert.equal(proof.jkt, c.jkt, alg);
    }
  });

  it("ignores query and fragment of htu, and normalises the URI (RFC 3986 §6.2.2)", async () => {
    const v = verifier();
    const c = await client();
    for (const htu of [`${ENDPOINT}?a=b`, `${ENDPOINT}#x`, "HTTPS://Broker.Example.com:443/token"])
      await v.verify(await c.proof({ claims: { htu } }), "POST");
  });

  it("refuses a replayed proof (its jti seen before)", async () => {
    const v = verifier();
    const c = await client();
    const proof = await c.proof();
    await v.verify(proof, "POST");
    await refused(v.verify(proof, "POST"), "dpop.replayed");
  });

  const refusals: Array<[string, string, (c: Awaited<ReturnType<typeof client>>) => Promise<string>]> = [
    ["not a JWS", "dpop.malformed", async () => "not.a.jws!"],
    ["two proofs in one header", "dpop.malformed", async (c) => `${await c.proof()}, ${await c.proof()}`],
    ["typ JWT", "dpop.typ", (c) => c.proof({ typ: "JWT" })],
    ["typ at+jwt", "dpop.typ", (c) => c.proof({ typ: "at+jwt" })],
    ["an algorithm not allowed", "dpop.alg", async () => (await client("ES512")).proof()],
    ["no jwk", "dpop.jwk", async (c) => c.proof({ jwk: "x" as unknown as Record<string, unknown> })],
    [
      "a jwk with the private key",
      "dpop.jwk_private",
      async (c) => c.proof({ jwk: { ...c.jwk, d: "AAAA" } }),
    ],
    [
      "a signature by another key than the jwk (proof key mismatch)",
      "dpop.signature",
      async (c) => c.proof({ signWith: (await client()).privateKey }),
    ],
    ["a symmetric jwk", "dpop.jwk_private", (c) => c.proof({ jwk: { kty: "oct", k: "c2VjcmV0" } })],
    [
      "alg none in the header",
      "dpop.alg",
      async (c) => {
        const p = (await c.proof()).split(".");
        const h = Buffer.from(JSON.stringify({ alg: "none", typ: "dpop+jwt", jwk: c.jwk })).toString(
          "base64url",
        );
        return `${h}.${p[1]}.${p[2]}`;
      },
    ],
    ["no jti", "dpop.jti", (c) => c.proof({ claims: { jti: undefined } })],
    ["wrong htm", "dpop.htm", (c) => c.proof({ claims: { htm: "GET" } })],
    ["wrong htu", "dpop.htu", (c) => c.proof({ claims: { htu: "https://broker.example.com/introspect" } })],
    ["htu of another host", "dpop.htu", (c) => c.proof({ claims: { htu: "https://evil.example/token" } })],
    ["stale iat", "dpop.iat", (c) => c.proof({ claims: { iat: Math.floor(Date.now() / 1000) - 61 } })],
    ["future iat", "dpop.iat", (c) => c.proof({ claims: { iat: Math.floor(Date.now() / 1000) + 61 } })],
    ["string iat", "dpop.iat", (c) => c.proof({ claims: { iat: "now" } })],
  ];
  for (const [name, reason, make] of refusals) {
    it(`refuses ${name} → invalid_dpop_proof`, async () => {
      await refused((async () => verifier().verify(await make(await client()), "POST"))(), reason);
    });
  }

  it("refuses an RSA proof key under 2048 bits", async () => {
    const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 1024 });
    const jwk = publicKey.export({ format: "jwk" });
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
    const input = `${b64({ alg: "RS256", typ: "dpop+jwt", jwk })}.${b64({ jti: randomUUID(), htm: "POST", htu: ENDPOINT, iat: Math.floor(Date.now() / 1000) })}`;
    const proof = `${input}.${sign("sha256", Buffer.from(input), privateKey).toString("base64url")}`;
    await refused(verifier().verify(proof, "POST"), "dpop.signature");
  });

  it("with nonces on: no nonce or a stale one → use_dpop_nonce; the current one passes (RFC 9449 §8)", async () => {
    const v = verifier({ nonces: true });
    const c = await client();
    await refused(v.verify(await c.proof(), "POST"), "dpop.nonce", "use_dpop_nonce");
    await refused(
      v.verify(await c.proof({ claims: { nonce: "made-up" } }), "POST"),
      "dpop.nonce",
      "use_dpop_nonce",
    );
    const nonce = await v.nonces?.current();
    assert.ok(nonce);
    await v.verify(await c.proof({ claims: { nonce } }), "POST");
  });

  it("a nonce minted by one instance is valid on another sharing the store", async () => {
    const store = createMemoryStore();
    const a = new DpopNonces(store.replay, Date.now);
    const b = new DpopNonces(store.replay, Date.now);
    const nonce = await a.current();
    assert.equal(await b.isValid(nonce), true);
    assert.equal(await b.isValid("other"), false);
  });
});

describe("DPoP proofs with an access token at /introspect (RFC 9449 §4.3 check 12, §7.1)", () => {
  const INTROSPECT = "https://broker.example.com/introspect";
  const TOKEN = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJycyJ9.c2ln";
  const store = createMemoryStore();
  const v = new DpopVerifier({
    tokenEndpoint: ENDPOINT,
    introspectionEndpoint: INTROSPECT,
    algorithms: ALGS,
    clock: Date.now,
    replay: store.replay,
  });
  const use = (c: { jkt: string }, o: { accessToken?: string; boundJkt?: string } = {}) => ({
    method: "POST",
    accessToken: o.accessToken ?? TOKEN,
    boundJkt: o.boundJkt ?? c.jkt,
  });

  it("accepts a proof for /introspect whose ath is the token's hash and whose key the token is bound to", async () => {
    const c = await client();
    const proof = await v.verifyWithAccessToken(
      await c.proof({ claims: { htu: INTROSPECT, ath: accessTokenHash(TOKEN) } }),
      use(c),
    );
    assert.equal(proof.jkt, c.jkt);
    // RFC 9449 §4.2: ath is base64url(SHA-256(ASCII(token))), the RFC's own example.
    assert.equal(
      accessTokenHash("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"),
      "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo",
    );
  });

  const refusals: Array<
    [string, string, (c: Awaited<ReturnType<typeof client>>) => Promise<[string, object]>]
  > = [
    ["no ath", "dpop.ath", async (c) => [await c.proof({ claims: { htu: INTROSPECT } }), {}]],
    [
      "the ath of another token",
      "dpop.ath",
      async (c) => [await c.proof({ claims: { htu: INTROSPECT, ath: accessTokenHash(`${TOKEN}x`) } }), {}],
    ],
    [
      "a proof for the token endpoint",
      "dpop.htu",
      async (c) => [await c.proof({ claims: { ath: accessTokenHash(TOKEN) } }), {}],
    ],
    [
      "a token bound to another key",
      "dpop.key_mismatch",
      async (c) => [
        await c.proof({ claims: { htu: INTROSPECT, ath: accessTokenHash(TOKEN) } }),
        { boundJkt: (await client()).jkt },
      ],
    ],
  ];
  for (const [name, reason, make] of refusals) {
    it(`refuses ${name}`, async () => {
      const c = await client();
      const [proof, o] = await make(c);
      await refused(v.verifyWithAccessToken(proof, use(c, o)), reason);
    });
  }

  it("a proof for /introspect is refused at the token endpoint, and a verifier without the endpoint has no such use", async () => {
    const c = await client();
    await refused(
      v.verify(await c.proof({ claims: { htu: INTROSPECT, ath: accessTokenHash(TOKEN) } }), "POST"),
      "dpop.htu",
    );
    assert.throws(() => verifier().verifyWithAccessToken("x", use(c)), TypeError);
  });
});
