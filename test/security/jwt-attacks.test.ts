/**
 * The JWT/JWS attack catalogue (CONTRACT §2 "Token intake", RFC 8725), every case through POST /token of a
 * real broker. Each refused case is sent under all three grants to a quiet and a verbose broker and must give
 * the grant's own error (never a 5xx), a generic description that echoes neither token nor claims, and no
 * request to any issuer: both brokers have already cached the JWKS of both providers and spent their one
 * unknown-kid refetch, and the clock is frozen, so the 30 s refetch window never reopens.
 */
import assert from "node:assert/strict";
import { createHmac, createPublicKey, generateKeyPairSync, type KeyObject, randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { parseConfig } from "../../src/config/load.ts";
import { DemoIssuer } from "../../src/dev/demo-issuer.ts";
import { createSignature } from "../../src/jose/jwa.ts";
import { decide } from "../../src/policy/evaluate.ts";
import { compilePolicyFiles } from "../../src/policy/parse.ts";
import {
  BROKER_ISSUER,
  CLIENT_ASSERTION_TYPE,
  JWT_BEARER,
  JWT_TYPE,
  startTestBroker,
  type TestBroker,
  TOKEN_EXCHANGE,
} from "../helpers/broker.ts";
import { fixtureClaims } from "../helpers/fixtures.ts";
import { type RedisServer, startRedisServer } from "../helpers/redis-server.ts";

const DEPLOY = "https://deploy.acme.internal";
const BAD_TOKEN = "the presented token is invalid or not admitted by any policy";
const MAX_TOKEN = 16 * 1024;
/** P-256 group order (SEC 2 §2.4.2). */
const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

/** Frozen broker clock: mid-second, so `epochSeconds` is unambiguous and boundaries are exact. */
const NOW = Math.floor(Date.now() / 1000);
const clock = () => NOW * 1000 + 500;

const POLICIES = `
apiVersion: wif-broker/v1
kind: TrustPolicy
metadata: { name: p-main }
spec:
  provider: github
  match:
    repository_owner_id: "65"
    repository_id: "74"
    ref: { glob: "refs/heads/*" }
  grant: { ttl: 15m, targets: [{ audience: ${DEPLOY} }] }
---
apiVersion: wif-broker/v1
kind: TrustPolicy
metadata: { name: p-names }
spec:
  provider: github
  match:
    repository_owner_id: "65"
    repository_id: "75"
    repository: octo-org/octo-repo
    environment: "producci\u00f3n"
  grant: { targets: [{ audience: ${DEPLOY} }] }
---
apiVersion: wif-broker/v1
kind: TrustPolicy
metadata: { name: p-typed }
spec:
  provider: github
  match:
    repository_id: "76"
    ref_protected: "true"
    event_name: { in: [push] }
    run_attempt: "1"
  grant: { targets: [{ audience: ${DEPLOY} }] }
---
apiVersion: wif-broker/v1
kind: TrustPolicy
metadata: { name: p-literals }
spec:
  provider: github
  match: { repository_id: "77", ref_protected: true, run_number: 42 }
  grant: { targets: [{ audience: ${DEPLOY} }] }
---
apiVersion: wif-broker/v1
kind: TrustPolicy
metadata: { name: p-condition }
spec:
  provider: github
  match: { repository_id: "78" }
  condition: claims.run_attempt == "1"
  grant: { targets: [{ audience: ${DEPLOY} }] }
---
apiVersion: wif-broker/v1
kind: TrustPolicy
metadata: { name: p-single }
spec:
  provider: strict
  match: { repository_id: "74" }
  singleUse: true
  grant: { targets: [{ audience: ${DEPLOY} }] }
`;

const SINGLE_USE_POLICY = `
apiVersion: wif-broker/v1
kind: TrustPolicy
metadata: { name: p-single }
spec:
  provider: github
  match: { repository_id: "74" }
  singleUse: true
  grant: { targets: [{ audience: ${DEPLOY} }] }
`;

interface SignKey {
  privateKey: KeyObject;
  alg: string;
  kid?: string;
}
type Claims = Record<string, unknown>;

const enc = (s: string | Buffer) => Buffer.from(s).toString("base64url");
const b64json = (v: unknown) => enc(JSON.stringify(v));
const part = (token: string, i: number) => token.split(".")[i] ?? "";
const decodeJson = (segment: string): unknown => JSON.parse(Buffer.from(segment, "base64url").toString());

/** Signs raw header and payload JSON text: duplicate keys and numbers JSON.stringify cannot write. */
function signRaw(header: string, payload: string, key: SignKey): string {
  const input = `${enc(header)}.${enc(payload)}`;
  return `${input}.${createSignature(key.alg, key.privateKey, Buffer.from(input)).toString("base64url")}`;
}

/** Replaces the signature segment. */
const withSig = (token: string, sig: string | Buffer) =>
  `${part(token, 0)}.${part(token, 1)}.${typeof sig === "string" ? sig : sig.toString("base64url")}`;

const be32 = (n: bigint) => Buffer.from(n.toString(16).padStart(64, "0"), "hex");

/** DER-encodes a raw R||S ECDSA signature, the form a JOSE verifier must refuse (RFC 7518 §3.4). */
function derFromRaw(raw: Buffer): Buffer {
  const int = (b: Buffer) => {
    let v = b;
    while (v.length > 1 && v[0] === 0) v = v.subarray(1);
    if ((v[0] ?? 0) & 0x80) v = Buffer.concat([Buffer.from([0]), v]);
    return Buffer.concat([Buffer.from([0x02, v.length]), v]);
  };
  const body = Buffer.concat([int(raw.subarray(0, 32)), int(raw.subarray(32))]);
  return Buffer.concat([Buffer.from([0x30, body.length]), body]);
}

const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** The same bytes under another spelling: flips a bit that base64url decoding discards (RFC 4648 §3.5). */
function nonCanonicalTwin(segment: string): string {
  const last = B64URL.indexOf(segment.at(-1) ?? "");
  const twin = `${segment.slice(0, -1)}${B64URL[last ^ 1]}`;
  assert.ok(Buffer.from(twin, "base64url").equals(Buffer.from(segment, "base64url")), "bits are discarded");
  return twin;
}

/** Every string the error description must not repeat: the token, its segments and all claim/header values. */
function secretsOf(token: string): string[] {
  const out = new Set<string>();
  if (token.length >= 6) out.add(token);
  const collect = (v: unknown, depth: number): void => {
    if (depth > 50) return;
    if (typeof v === "string" && v.length >= 6) out.add(v);
    else if (typeof v === "number" && String(v).length >= 6) out.add(String(v));
    else if (Array.isArray(v)) for (const x of v) collect(x, depth + 1);
    else if (typeof v === "object" && v !== null) for (const x of Object.values(v)) collect(x, depth + 1);
  };
  for (const segment of token.split(".")) {
    if (segment.length >= 8) out.add(segment);
    try {
      collect(decodeJson(segment), 0);
    } catch {
      // not a JSON segment
    }
  }
  return [...out];
}

const GRANTS = [
  {
    name: "token-exchange",
    status: 400,
    error: "invalid_request",
    params: (t: string) => ({ grant_type: TOKEN_EXCHANGE, subject_token: t, subject_token_type: JWT_TYPE }),
  },
  {
    name: "jwt-bearer",
    status: 400,
    error: "invalid_grant",
    params: (t: string) => ({ grant_type: JWT_BEARER, assertion: t }),
  },
  {
    name: "client assertion",
    status: 401,
    error: "invalid_client",
    params: (t: string) => ({
      grant_type: "client_credentials",
      client_assertion_type: CLIENT_ASSERTION_TYPE,
      client_assertion: t,
    }),
  },
] as const;

describe("JWT/JWS attack catalogue through POST /token (CONTRACT §2, RFC 8725)", () => {
  let a: DemoIssuer; // provider `github`: an RSA and an EC key in its JWKS, default allowlist
  let b: DemoIssuer; // provider `strict`: an RSA and an EC key in its JWKS, allowlist [ES256]
  let stranger: DemoIssuer; // a live issuer no provider names
  let rsaA: SignKey;
  let ecA: SignKey;
  let rsaB: SignKey;
  let ecB: SignKey;
  let quiet: TestBroker;
  let verbose: TestBroker;
  let brokerAccessToken = "";
  const refusedTokens: string[] = [];

  const outbound = () => ({ a: a.requests.length, b: b.requests.length, stranger: stranger.requests.length });

  /** GitHub-Actions claims for provider A, valid at the frozen clock. */
  const claims = (over: Claims = {}): Claims => ({
    ...fixtureClaims("github-actions-branch"),
    iss: a.url,
    iat: NOW,
    nbf: NOW,
    exp: NOW + 300,
    jti: randomUUID(),
    ...over,
  });
  const tokA = (over: Claims = {}, header: Claims = {}) => a.mint(claims(over), { key: rsaA, header });
  const tokAec = (over: Claims = {}, header: Claims = {}) => a.mint(claims(over), { key: ecA, header });
  const tokB = (over: Claims = {}, header: Claims = {}) =>
    b.mint(claims({ iss: b.url, ...over }), { key: ecB, header });
  /** Payload JSON text of valid A claims, for raw edits. */
  const rawClaims = (over: Claims = {}) => JSON.stringify(claims(over));
  const rawHeader = (key: SignKey, over: Claims = {}) =>
    JSON.stringify({ alg: key.alg, kid: key.kid, ...over });

  async function refused(token: string): Promise<void> {
    refusedTokens.push(token);
    const seen = outbound();
    const secrets = secretsOf(token);
    for (const broker of [quiet, verbose]) {
      for (const g of GRANTS) {
        const res = await broker.post({ ...g.params(token), audience: DEPLOY });
        const body = (await res.json()) as Record<string, unknown>;
        assert.ok(res.status < 500, `${g.name}: never a 5xx, got ${res.status} ${JSON.stringify(body)}`);
        assert.equal(res.status, g.status, `${g.name}: ${JSON.stringify(body)}`);
        assert.equal(body.error, g.error, g.name);
        const rid = res.headers.get("x-request-id") ?? "";
        const description = String(body.error_description);
        const suffix = ` (request id ${rid})`;
        assert.ok(description.endsWith(suffix), "description ends with the request id");
        if (broker === quiet) assert.equal(description, `${BAD_TOKEN}${suffix}`);
        const text = description.slice(0, -suffix.length);
        for (const s of secrets) {
          assert.ok(!text.includes(s), `${g.name}: description echoes ${JSON.stringify(s.slice(0, 60))}`);
        }
      }
    }
    assert.deepEqual(outbound(), seen, "no outbound request to any issuer");
  }

  async function accepted(token: string, audience = DEPLOY): Promise<void> {
    const seen = outbound();
    for (const broker of [quiet, verbose]) {
      const res = await broker.exchange(token, audience);
      const body = (await res.json()) as Record<string, unknown>;
      assert.equal(res.status, 200, JSON.stringify(body));
      assert.equal(typeof body.access_token, "string");
    }
    assert.deepEqual(outbound(), seen, "keys came from the cache");
  }

  const table = (cases: ReadonlyArray<readonly [string, () => string]>) => {
    for (const [name, make] of cases) it(name, () => refused(make()));
  };

  before(async () => {
    [a, b, stranger] = await Promise.all([DemoIssuer.start(), DemoIssuer.start(), DemoIssuer.start()]);
    rsaA = a.currentKey;
    a.rotate(false, "ES256");
    ecA = a.currentKey;
    rsaB = b.currentKey;
    b.rotate(false, "ES256");
    ecB = b.currentKey;
    const options = {
      policies: POLICIES,
      idp: a,
      clock,
      providers: [{ name: "strict", issuer: b.url, allowInsecureHttp: true, algorithms: ["ES256"] }],
    };
    [quiet, verbose] = await Promise.all([
      startTestBroker(options),
      startTestBroker({ ...options, config: { errors: { verbose: true } } }),
    ]);
    for (const broker of [quiet, verbose]) {
      // Prime both key caches, then spend each provider's one unknown-kid refetch (CONTRACT §2: 30 s).
      const ok = await broker.exchange(tokA(), DEPLOY);
      assert.equal(ok.status, 200);
      brokerAccessToken = String(((await ok.json()) as Record<string, unknown>).access_token);
      assert.equal((await broker.exchange(tokB(), DEPLOY)).status, 200);
      assert.equal((await broker.exchange(tokA({}, { kid: "prime" }), DEPLOY)).status, 400);
      assert.equal((await broker.exchange(tokB({}, { kid: "prime" }), DEPLOY)).status, 400);
    }
    assert.ok(a.requests.length > 0 && b.requests.length > 0, "both JWKS were fetched");
  });

  after(async () => {
    await Promise.all([quiet.close(), verbose.close()]);
    await Promise.all([a.close(), b.close(), stranger.close()]);
  });

  it("positive controls: valid RS256, ES256 and strict-provider tokens are accepted from the cache", async () => {
    await accepted(tokA());
    await accepted(tokAec());
    await accepted(tokB());
  });

  describe("alg none (RFC 8725 §3.1)", () => {
    for (const alg of ["none", "None", "NONE", "nOnE"]) {
      table([
        [`alg ${alg}, empty signature`, () => `${b64json({ alg, typ: "JWT" })}.${b64json(claims())}.`],
        [`alg ${alg} with the real key's signature`, () => tokA({}, { alg })],
        [
          `alg ${alg} with a junk signature and the RSA kid`,
          () => `${b64json({ alg, kid: rsaA.kid })}.${b64json(claims())}.AAAA`,
        ],
      ]);
    }
  });

  describe("HS* keyed with the provider's RSA public key (key confusion)", () => {
    const secrets = (): Array<[string, Buffer | string]> => {
      const rsaPublic = createPublicKey(rsaA.privateKey);
      const rsaJwk = rsaPublic.export({ format: "jwk" });
      return [
        ["SPKI PEM", String(rsaPublic.export({ type: "spki", format: "pem" }))],
        ["PKCS#1 PEM", String(rsaPublic.export({ type: "pkcs1", format: "pem" }))],
        ["SPKI DER", rsaPublic.export({ type: "spki", format: "der" })],
        ["JWK JSON", JSON.stringify(rsaJwk)],
        ["JWKS entry JSON", JSON.stringify({ ...rsaJwk, kid: rsaA.kid, alg: "RS256", use: "sig" })],
        ["raw modulus bytes", Buffer.from(String(rsaJwk.n), "base64url")],
        ["modulus as base64url text", String(rsaJwk.n)],
      ];
    };
    for (const [alg, hash] of [
      ["HS256", "sha256"],
      ["HS384", "sha384"],
      ["HS512", "sha512"],
    ] as const) {
      it(`${alg} with every encoding of the RSA public key as the secret`, async () => {
        for (const [, secret] of secrets()) {
          for (const kid of [rsaA.kid, undefined]) {
            const input = `${b64json({ alg, typ: "JWT", kid })}.${b64json(claims())}`;
            await refused(`${input}.${createHmac(hash, secret).update(input).digest("base64url")}`);
          }
        }
      });
    }
  });

  describe("algorithm allowlist and algorithm confusion", () => {
    it("a valid RS256 signature from the strict provider's own JWKS is off its [ES256] allowlist", async () => {
      const seen = b.requests.length;
      await refused(b.mint(claims({ iss: b.url }), { key: rsaB }));
      await refused(b.mint(claims({ iss: b.url }), { key: rsaB, header: { kid: undefined } }));
      assert.equal(b.requests.length, seen);
    });

    it("the config cannot allow none or HS* for a provider", () => {
      for (const algorithms of [["none"], ["HS256"], ["RS256", "HS512"], ["None"]]) {
        assert.throws(() =>
          parseConfig(
            { providers: [{ name: "x", issuer: "https://idp.example", algorithms }] },
            "(test)",
            process.cwd(),
          ),
        );
      }
    });

    table([
      ["RS256 header, EC kid, ES256 signature", () => tokAec({}, { alg: "RS256" })],
      ["RS256 header, no kid, ES256 signature", () => tokAec({}, { alg: "RS256", kid: undefined })],
      ["ES256 header, RSA kid, RS256 signature", () => tokA({}, { alg: "ES256" })],
      ["ES256 header, no kid, RS256 signature", () => tokA({}, { alg: "ES256", kid: undefined })],
      ["PS256 header over an RS256 signature", () => tokA({}, { alg: "PS256" })],
      ["RS512 header over an RS256 signature", () => tokA({}, { alg: "RS512" })],
      ["ES384 header over an ES256 signature", () => tokAec({}, { alg: "ES384" })],
      ["EdDSA header over an ES256 signature", () => tokAec({}, { alg: "EdDSA", kid: undefined })],
      ["alg in lower case (rs256)", () => tokA({}, { alg: "rs256" })],
      ["alg with a trailing space", () => tokA({}, { alg: "RS256 " })],
      ["alg with a NUL", () => tokA({}, { alg: "RS256\u0000" })],
      ["alg empty", () => tokA({}, { alg: "" })],
      ["alg as an array", () => tokA({}, { alg: ["RS256"] })],
      ["alg missing", () => tokA({}, { alg: undefined })],
      ["alg __proto__", () => tokA({}, { alg: "__proto__" })],
    ]);
  });

  describe("ECDSA signature forms (RFC 7518 §3.4)", () => {
    const sigOf = () => Buffer.from(part(tokAec(), 2), "base64url");
    const rOf = (s: Buffer) => s.subarray(0, 32);
    const sOf = (s: Buffer) => s.subarray(32);
    const with_ = (sig: Buffer) => withSig(tokAec(), sig);
    table([
      ["all-zero signature (psychic signature, r = s = 0)", () => with_(Buffer.alloc(64))],
      ["r = s = 0 without kid", () => withSig(tokAec({}, { kid: undefined }), Buffer.alloc(64))],
      ["r = 0", () => with_(Buffer.concat([Buffer.alloc(32), sOf(sigOf())]))],
      ["s = 0", () => with_(Buffer.concat([rOf(sigOf()), Buffer.alloc(32)]))],
      ["s = n (curve order)", () => with_(Buffer.concat([rOf(sigOf()), be32(P256_N)]))],
      ["r = n", () => with_(Buffer.concat([be32(P256_N), sOf(sigOf())]))],
      ["r = s = n", () => with_(Buffer.concat([be32(P256_N), be32(P256_N)]))],
      ["r = s = 1", () => with_(Buffer.concat([be32(1n), be32(1n)]))],
      ["s = n − 1", () => with_(Buffer.concat([rOf(sigOf()), be32(P256_N - 1n)]))],
      ["DER-encoded valid signature", () => with_(derFromRaw(tokSig(tokAec())))],
      ["DER-encoded zero signature", () => with_(Buffer.from("3006020100020100", "hex"))],
      ["signature one byte short", () => with_(sigOf().subarray(0, 63))],
      ["signature with a trailing byte", () => with_(Buffer.concat([sigOf(), Buffer.alloc(1)]))],
      ["ES384-length signature", () => with_(Buffer.concat([sigOf(), Buffer.alloc(32)]))],
      ["another token's valid signature", () => withSig(tokAec(), tokSig(tokAec({ sub: "other" })))],
    ]);

    it("a high-S twin (r, n − s) verifies — ECDSA malleability, RFC 7518 does not require low-S — but cannot replay a single-use token", async () => {
      for (const order of ["original first", "twin first"] as const) {
        const token = tokB();
        const sig = tokSig(token);
        const s = BigInt(`0x${sOf(sig).toString("hex")}`);
        const twin = withSig(token, Buffer.concat([rOf(sig), be32(P256_N - s)]));
        const [first, second] = order === "original first" ? [token, twin] : [twin, token];
        for (const broker of [quiet, verbose]) {
          assert.equal((await broker.exchange(first, DEPLOY)).status, 200, order);
          const res = await broker.exchange(second, DEPLOY);
          assert.equal(res.status, 400, `${order}: replay keyed on jti, not on the token's bytes`);
        }
      }
      // Provider A, no single-use policy: the high-S twin is simply a valid signature.
      const token = tokAec();
      const sig = tokSig(token);
      const s = BigInt(`0x${sOf(sig).toString("hex")}`);
      await accepted(withSig(token, Buffer.concat([rOf(sig), be32(P256_N - s)])));
    });
  });

  describe("crit, b64, JWE and JSON serialization", () => {
    table([
      [
        "unknown crit extension",
        () => tokA({}, { crit: ["https://evil.example/ext"], "https://evil.example/ext": 1 }),
      ],
      ["crit naming a registered header", () => tokA({}, { crit: ["alg"] })],
      ["crit naming exp", () => tokA({}, { crit: ["exp"], exp: NOW + 300 })],
      ["crit empty list", () => tokA({}, { crit: [] })],
      ["crit as a string", () => tokA({}, { crit: "b64" })],
      ["b64:false with crit (RFC 7797)", () => tokA({}, { b64: false, crit: ["b64"] })],
      ["b64:false without crit", () => tokA({}, { b64: false })],
      [
        "b64:false with an unencoded payload",
        () => {
          const header = b64json({ alg: "RS256", kid: rsaA.kid, b64: false, crit: ["b64"] });
          const payload = rawClaims();
          const sig = createSignature("RS256", rsaA.privateKey, Buffer.from(`${header}.${payload}`));
          return `${header}.${payload}.${sig.toString("base64url")}`;
        },
      ],
      [
        "JWE, five segments",
        () =>
          `${b64json({ alg: "RSA-OAEP", enc: "A256GCM", kid: rsaA.kid })}.${enc("k".repeat(256))}.${enc("iv-iv-iv-iv")}.${b64json(claims())}.${enc("tag-tag-tag-tag")}`,
      ],
      ["five segments around a valid JWS", () => `${tokA()}.AAAA.AAAA`],
      ["five empty segments", () => "...."],
      ["four segments", () => `${tokA()}.AAAA`],
      [
        "JWE header in three segments",
        () => `${b64json({ alg: "RSA-OAEP", enc: "A256GCM" })}.${b64json(claims())}.AAAA`,
      ],
      ["enc in a validly signed header", () => tokA({}, { enc: "A256GCM" })],
      [
        "alg dir with enc, three segments",
        () => `${b64json({ alg: "dir", enc: "A128CBC-HS256" })}.${b64json(claims())}.AAAA`,
      ],
      ["zip in a validly signed header", () => tokA({}, { zip: "DEF" })],
      [
        "JWS JSON serialization, flattened",
        () => {
          const t = tokA();
          return JSON.stringify({ protected: part(t, 0), payload: part(t, 1), signature: part(t, 2) });
        },
      ],
      [
        "JWS JSON serialization, general",
        () => {
          const t = tokA();
          return JSON.stringify({
            payload: part(t, 1),
            signatures: [{ protected: part(t, 0), signature: part(t, 2) }],
          });
        },
      ],
      [
        "JWS JSON serialization, pretty-printed with an unprotected header",
        () => {
          const t = tokA();
          return JSON.stringify(
            { payload: part(t, 1), protected: part(t, 0), header: { kid: rsaA.kid }, signature: part(t, 2) },
            null,
            2,
          );
        },
      ],
      ["a compact token in JSON quotes", () => JSON.stringify(tokA())],
      ["a compact token form-encoded twice", () => encodeURIComponent(tokA()).replaceAll(".", "%2E")],
    ]);
  });

  describe("kid injection (only ever a lookup key into the cached JWKS)", () => {
    table([
      ["kid path traversal", () => tokA({}, { kid: "../../etc/passwd" })],
      ["kid file URL", () => tokA({}, { kid: "file:///dev/random" })],
      ["kid SQL injection", () => tokA({}, { kid: "' OR '1'='1" })],
      ["kid SQL statement", () => tokA({}, { kid: "x'; DROP TABLE keys;--" })],
      ["kid 10 KB", () => tokA({}, { kid: "k".repeat(10_000) })],
      ["kid with NUL", () => tokA({}, { kid: `${rsaA.kid}\u0000` })],
      ["kid with newline and a header injection", () => tokA({}, { kid: "a\r\nX-Injected: 1\n" })],
      ["kid of the real key in upper case", () => tokA({}, { kid: String(rsaA.kid).toUpperCase() })],
      ["kid of the real key with a trailing space", () => tokA({}, { kid: `${rsaA.kid} ` })],
      ["kid empty", () => tokA({}, { kid: "" })],
      ["kid __proto__", () => tokA({}, { kid: "__proto__" })],
      ["kid constructor", () => tokA({}, { kid: "constructor" })],
      ["kid as a number", () => tokA({}, { kid: 1 })],
      ["kid as an object", () => tokA({}, { kid: { $ne: null } })],
      ["kid as an array", () => tokA({}, { kid: [rsaA.kid] })],
      ["kid null", () => tokA({}, { kid: null })],
      ["kid true", () => tokA({}, { kid: true })],
      ["kid URL of a live server", () => tokA({}, { kid: `${stranger.url}/jwks` })],
    ]);
  });

  describe("key-bearing headers are refused, x5t is not", () => {
    table([
      ["jku to a live attacker server", () => tokA({}, { jku: `${stranger.url}/jwks` })],
      ["jku to the provider's own JWKS", () => tokA({}, { jku: `${a.url}/jwks` })],
      ["x5u to a live attacker server", () => tokA({}, { x5u: `${stranger.url}/cert.pem` })],
      [
        "jwk: the attacker's own key, signed by it",
        () => {
          const evil = generateKeyPairSync("rsa", { modulusLength: 2048 });
          return a.mint(claims(), {
            key: { privateKey: evil.privateKey, alg: "RS256" },
            header: { jwk: evil.publicKey.export({ format: "jwk" }) },
          });
        },
      ],
      [
        "jwk: the provider's real public key",
        () => tokA({}, { jwk: createPublicKey(rsaA.privateKey).export({ format: "jwk" }) }),
      ],
      [
        "x5c with a junk certificate",
        () => tokA({}, { x5c: ["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"] }),
      ],
      ["x5c empty", () => tokA({}, { x5c: [] })],
      ["jku null", () => tokA({}, { jku: null })],
      [
        "an attacker key under the provider's kid",
        () => {
          const evil = generateKeyPairSync("rsa", { modulusLength: 2048 });
          return a.mint(claims(), {
            key: { privateKey: evil.privateKey, alg: "RS256", kid: String(rsaA.kid) },
          });
        },
      ],
    ]);

    it("x5t and x5t#S256 alone are legitimate (GitHub sends x5t) and accepted", async () => {
      await accepted(tokA({}, { x5t: "cLj8Ur1GUAWhIdL0-zWc1u7n0Tk" }));
      await accepted(tokA({}, { "x5t#S256": "VoSGoNJxoMt0-y5z6yfrEWDuRbiQ3v2pDxKvtEh6CIM" }));
      await accepted(tokA({}, { x5t: "cLj8Ur1GUAWhIdL0-zWc1u7n0Tk", typ: "JWT" }));
    });
  });

  describe("keys never cross providers", () => {
    table([
      ["B's EC key and kid under A's iss", () => b.mint(claims(), { key: ecB })],
      ["B's EC key under A's EC kid", () => b.mint(claims(), { key: { ...ecB, kid: String(ecA.kid) } })],
      [
        "B's EC key without kid under A's iss",
        () => b.mint(claims(), { key: { privateKey: ecB.privateKey, alg: "ES256" } }),
      ],
      ["B's RSA key under A's RSA kid", () => b.mint(claims(), { key: { ...rsaB, kid: String(rsaA.kid) } })],
      ["A's RSA key under B's iss", () => a.mint(claims({ iss: b.url }), { key: rsaA })],
      ["A's EC key and kid under B's iss", () => a.mint(claims({ iss: b.url }), { key: ecA })],
      [
        "A's EC key under B's EC kid",
        () => a.mint(claims({ iss: b.url }), { key: { ...ecA, kid: String(ecB.kid) } }),
      ],
      [
        "A's EC key without kid under B's iss",
        () => a.mint(claims({ iss: b.url }), { key: { privateKey: ecA.privateKey, alg: "ES256" } }),
      ],
      ["a stranger's key and kid under A's iss", () => stranger.mint(claims())],
    ]);
  });

  describe("iss compares as an exact string; other issuers cause no request", () => {
    table([
      ["trailing slash", () => tokA({ iss: `${a.url}/` })],
      ["upper-case scheme", () => tokA({ iss: a.url.replace("http:", "HTTP:") })],
      ["all upper case", () => tokA({ iss: a.url.toUpperCase() })],
      ["leading space", () => tokA({ iss: ` ${a.url}` })],
      ["trailing space", () => tokA({ iss: `${a.url} ` })],
      ["trailing newline", () => tokA({ iss: `${a.url}\n` })],
      ["leading tab", () => tokA({ iss: `\t${a.url}` })],
      ["unicode lookalike scheme (Cyrillic һ)", () => tokA({ iss: a.url.replace("h", "\u04bb") })],
      ["fullwidth full stops in the host", () => tokA({ iss: a.url.replaceAll(".", "\uff0e") })],
      ["one dot leader for a dot", () => tokA({ iss: a.url.replace(".", "\u2024") })],
      ["evil URL with the real one in its query", () => tokA({ iss: `https://evil/?${a.url}` })],
      ["real URL with an empty query", () => tokA({ iss: `${a.url}?` })],
      ["real URL with a fragment", () => tokA({ iss: `${a.url}#` })],
      ["real URL with userinfo", () => tokA({ iss: a.url.replace("//", "//user@") })],
      ["trailing NUL", () => tokA({ iss: `${a.url}\u0000` })],
      ["NUL then an evil suffix", () => tokA({ iss: `${a.url}\u0000.evil.example` })],
      ["iss as an array", () => tokA({ iss: [a.url] })],
      ["iss as an object", () => tokA({ iss: { url: a.url } })],
      ["iss as a number", () => tokA({ iss: 1 })],
      ["iss null", () => tokA({ iss: null })],
      ["iss missing", () => tokA({ iss: undefined })],
      ["a stranger issuer with its own valid key", () => stranger.mint(claims({ iss: stranger.url }))],
      [
        "a public issuer no provider names",
        () => tokA({ iss: "https://token.actions.githubusercontent.com" }),
      ],
      ["the broker's own issued access token", () => brokerAccessToken],
    ]);
  });

  describe("exp, nbf and iat: types and ranges (RFC 7519 §4.1.4–6, 60 s leeway)", () => {
    const rawTime = (name: string, literal: string) => () =>
      signRaw(
        rawHeader(rsaA),
        rawClaims({ [name]: undefined }).replace(/\}$/, `,"${name}":${literal}}`),
        rsaA,
      );
    table([
      ["exp as a numeric string", () => tokA({ exp: String(NOW + 300) })],
      ["exp 'NaN'", () => tokA({ exp: "NaN" })],
      ["exp 'Infinity'", () => tokA({ exp: "Infinity" })],
      ["exp '1e308'", () => tokA({ exp: "1e308" })],
      ["exp 1e309 (Infinity after JSON.parse)", rawTime("exp", "1e309")],
      ["exp -1e309", rawTime("exp", "-1e309")],
      ["exp negative", () => tokA({ exp: -1 })],
      ["exp zero", () => tokA({ exp: 0 })],
      ["exp -0", rawTime("exp", "-0")],
      ["exp in an array", () => tokA({ exp: [NOW + 300] })],
      ["exp as an object", () => tokA({ exp: { $date: NOW + 300 } })],
      ["exp true", () => tokA({ exp: true })],
      ["exp false", () => tokA({ exp: false })],
      ["exp null", () => tokA({ exp: null })],
      ["exp missing", () => tokA({ exp: undefined })],
      ["exp just expired (exp = now)", () => tokA({ exp: NOW })],
      ["exp one second ago", () => tokA({ exp: NOW - 1 })],
      ["nbf 61 s ahead", () => tokA({ nbf: NOW + 61 })],
      ["nbf 1e308", () => tokA({ nbf: 1e308 })],
      ["nbf 1e309", rawTime("nbf", "1e309")],
      ["nbf as a string", () => tokA({ nbf: String(NOW) })],
      ["nbf in an array", () => tokA({ nbf: [NOW] })],
      ["nbf true", () => tokA({ nbf: true })],
      ["nbf null", () => tokA({ nbf: null })],
      ["iat 61 s ahead", () => tokA({ iat: NOW + 61 })],
      ["iat 1e308", () => tokA({ iat: 1e308 })],
      ["iat -1e309", rawTime("iat", "-1e309")],
      ["iat as a string", () => tokA({ iat: String(NOW) })],
      ["iat as an object", () => tokA({ iat: {} })],
      ["iat false", () => tokA({ iat: false })],
    ]);

    it("boundaries and odd-but-valid values are accepted", async () => {
      await accepted(tokA({ exp: NOW + 1 }));
      await accepted(tokA({ nbf: NOW + 60, iat: NOW + 60 }));
      await accepted(tokA({ nbf: -1, iat: 0 }));
      await accepted(tokA({ nbf: undefined, iat: undefined }));
      await accepted(rawTime("exp", `${NOW + 300}.0`)());
      // A NumericDate far in the future is still a number; the issued token's lifetime is the policy's.
      const res = await quiet.exchange(tokA({ exp: 1e308 }), DEPLOY);
      assert.equal(res.status, 200);
      assert.equal(((await res.json()) as Record<string, unknown>).expires_in, 900);
    });

    it("a single-use token with exp 1e308 is accepted once on the memory store", async () => {
      const token = tokB({ exp: 1e308 });
      assert.equal((await quiet.exchange(token, DEPLOY)).status, 200);
      assert.equal((await quiet.exchange(token, DEPLOY)).status, 400);
    });
  });

  describe("claim type confusion: never coerced (CONTRACT §5)", () => {
    table([
      ["aud as a number", () => tokA({ aud: 1 })],
      ["aud as an object", () => tokA({ aud: { aud: BROKER_ISSUER } })],
      ["aud as a nested array", () => tokA({ aud: [[BROKER_ISSUER]] })],
      ["aud array with a number", () => tokA({ aud: [BROKER_ISSUER, 1] })],
      ["aud true", () => tokA({ aud: true })],
      ["aud null", () => tokA({ aud: null })],
      ["aud empty string", () => tokA({ aud: "" })],
      ["aud empty array", () => tokA({ aud: [] })],
      ["aud missing", () => tokA({ aud: undefined })],
      ["aud in upper case", () => tokA({ aud: BROKER_ISSUER.toUpperCase() })],
      ["aud with a trailing slash", () => tokA({ aud: `${BROKER_ISSUER}/` })],
      ["valid token for another audience", () => tokA({ aud: "https://other.example.com" })],
      ["valid token for other audiences", () => tokA({ aud: ["https://a.example", "https://b.example"] })],
      ["sub as an array", () => tokA({ sub: ["repo:octo-org/octo-repo"] })],
      ["sub as an object", () => tokA({ sub: { id: "repo:octo-org/octo-repo" } })],
      ["sub as a number", () => tokA({ sub: 74 })],
      ["sub empty", () => tokA({ sub: "" })],
      ["sub null", () => tokA({ sub: null })],
      ["sub missing", () => tokA({ sub: undefined })],
      ['repository_id 74 as a number where the policy says "74"', () => tokA({ repository_id: 74 })],
      ["repository_owner_id 65 as a number", () => tokA({ repository_owner_id: 65 })],
      ["repository_id in an array", () => tokA({ repository_id: ["74"] })],
      ["repository_id as an object", () => tokA({ repository_id: { 0: "74" } })],
      ["repository_id with a leading zero", () => tokA({ repository_id: "074" })],
      ["repository_id as a float string", () => tokA({ repository_id: "74.0" })],
      ["repository_id with a trailing space", () => tokA({ repository_id: "74 " })],
      ["ref in an array (glob wants a string)", () => tokA({ ref: ["refs/heads/main"] })],
      ["ref crossing a segment under *", () => tokA({ ref: "refs/heads/a/b" })],
      [
        'boolean true where the policy says "true"',
        () => tokA({ repository_id: "76", ref_protected: true, event_name: "push", run_attempt: "1" }),
      ],
      [
        "string 'True' where the policy says \"true\"",
        () => tokA({ repository_id: "76", ref_protected: "True", event_name: "push", run_attempt: "1" }),
      ],
      [
        "event_name in an array for an `in` matcher",
        () => tokA({ repository_id: "76", ref_protected: "true", event_name: ["push"], run_attempt: "1" }),
      ],
      [
        "run_attempt 1 as a number",
        () => tokA({ repository_id: "76", ref_protected: "true", event_name: "push", run_attempt: 1 }),
      ],
      [
        'string "true" where the policy says true',
        () => tokA({ repository_id: "77", ref_protected: "true", run_number: 42 }),
      ],
      [
        'string "42" where the policy says 42',
        () => tokA({ repository_id: "77", ref_protected: true, run_number: "42" }),
      ],
      [
        "number 1 where the policy says true",
        () => tokA({ repository_id: "77", ref_protected: 1, run_number: 42 }),
      ],
    ]);

    it("positive controls: the same policies admit correctly typed claims; JSON numbers compare by value", async () => {
      await accepted(tokA({ aud: ["https://other.example", BROKER_ISSUER] }));
      await accepted(
        tokA({ repository_id: "76", ref_protected: "true", event_name: "push", run_attempt: "1" }),
      );
      await accepted(tokA({ repository_id: "77", ref_protected: true, run_number: 42 }));
      await accepted(
        signRaw(
          rawHeader(rsaA),
          rawClaims({ repository_id: "77", ref_protected: true, run_number: 0 }).replace(
            '"run_number":0',
            '"run_number":4.2e1',
          ),
          rsaA,
        ),
      );
    });

    it("a token admitted by a policy but not for the requested audience is invalid_target", async () => {
      const res = await quiet.exchange(tokA(), "https://not-a-target.example");
      const body = (await res.json()) as Record<string, unknown>;
      assert.equal(res.status, 400);
      assert.equal(body.error, "invalid_target");
    });
  });

  describe("homoglyphs and normalisation never match an exact policy value", () => {
    const named = (over: Claims) =>
      tokA({
        repository_id: "75",
        repository: "octo-org/octo-repo",
        environment: "producci\u00f3n",
        ...over,
      });
    it("positive control: the exact NFC values are admitted", () => accepted(named({})));
    table([
      ["Cyrillic о in the repository", () => named({ repository: "oct\u043e-org/octo-repo" })],
      ["Greek ο in the repository", () => named({ repository: "octo-org/\u03bfcto-repo" })],
      ["Cyrillic с in the repository", () => named({ repository: "o\u0441to-org/octo-repo" })],
      ["zero-width joiner in the repository", () => named({ repository: "octo-org/octo\u200d-repo" })],
      ["zero-width space in the repository", () => named({ repository: "\u200bocto-org/octo-repo" })],
      ["division slash for /", () => named({ repository: "octo-org\u2215octo-repo" })],
      ["fullwidth solidus for /", () => named({ repository: "octo-org\uff0focto-repo" })],
      ["Unicode hyphen for -", () => named({ repository: "octo\u2010org/octo-repo" })],
      ["trailing no-break space", () => named({ repository: "octo-org/octo-repo\u00a0" })],
      ["repository in upper case", () => named({ repository: "Octo-Org/octo-repo" })],
      ["NFD environment for an NFC policy value", () => named({ environment: "produccio\u0301n" })],
      ["environment with a zero-width joiner", () => named({ environment: "producci\u00f3\u200dn" })],
      ["fullwidth digits in the owner ID", () => named({ repository_owner_id: "\uff16\uff15" })],
      ["Arabic-Indic digits in the owner ID", () => named({ repository_owner_id: "\u0666\u0665" })],
      ["zero-width joiner inside the owner ID", () => named({ repository_owner_id: "6\u200d5" })],
      ["NUL after the owner ID", () => named({ repository_owner_id: "65\u0000" })],
      ["fullwidth digits in the repository ID", () => tokA({ repository_id: "\uff17\uff14" })],
      ["mathematical bold digits in the repository ID", () => tokA({ repository_id: "\u{1d7d5}\u{1d7d2}" })],
      ["superscript digits in the repository ID", () => tokA({ repository_id: "\u2077\u2074" })],
    ]);
  });

  describe("size, depth and width", () => {
    /** A valid A token padded to exactly `length` characters. */
    const sized = (length: number, over: Claims = {}) => {
      for (let h = 0; h < 4; h++) {
        const header = { pad: "h".repeat(h) };
        const probe = tokA({ pad: "", ...over }, header);
        for (let p = Math.max(0, Math.floor(((length - probe.length) * 3) / 4) - 4); p < length; p++) {
          const token = tokA({ pad: "p".repeat(p), ...over }, header);
          if (token.length === length) return token;
          if (token.length > length) break;
        }
      }
      throw new Error(`no token of length ${length}`);
    };

    it("a token of exactly 16 KiB is handled (accepted), with or without surrounding whitespace", async () => {
      const token = sized(MAX_TOKEN);
      assert.equal(token.length, MAX_TOKEN);
      await accepted(token);
      await accepted(`\n ${sized(MAX_TOKEN)}\r\n`);
    });

    it("16 KiB + 1 is refused", () => refused(sized(MAX_TOKEN + 1)));

    it("a token beyond the 64 KiB body limit is 413, never a 5xx", async () => {
      const res = await quiet.exchange(sized(70 * 1024), DEPLOY);
      assert.equal(res.status, 413);
    });

    const nested = (depth: number, open: string, close: string, leaf = "") =>
      `${open.repeat(depth)}${leaf}${close.repeat(depth)}`;
    /** Deepest nesting of `open…close` in claim `junk` that still fits 16 KiB; signs the raw payload. */
    const deepest = (open: string, close: string, leaf: string, over: Claims = {}) => {
      const make = (depth: number) =>
        signRaw(
          rawHeader(rsaA),
          rawClaims(over).replace(/\}$/, `,"junk":${nested(depth, open, close, leaf)}}`),
          rsaA,
        );
      let lo = 1;
      let hi = 12_000;
      while (lo < hi) {
        const mid = Math.ceil((lo + hi) / 2);
        // Length without signing: header, payload, and a 342-character RS256 signature.
        const len =
          make(1).length -
          enc(rawClaims(over)).length +
          enc(rawClaims(over).replace(/\}$/, `,"junk":${nested(mid, open, close, leaf)}}`)).length;
        if (len <= MAX_TOKEN - 8) lo = mid;
        else hi = mid - 1;
      }
      return { token: make(lo), depth: lo };
    };

    /** Never a 5xx, one of the `expect`ed statuses, and quick. */
    async function fast(token: string, expect: number | readonly number[]): Promise<void> {
      const started = performance.now();
      const res = await quiet.exchange(token, DEPLOY);
      const ms = performance.now() - started;
      assert.ok(res.status < 500, `never a 5xx, got ${res.status}`);
      assert.ok((typeof expect === "number" ? [expect] : expect).includes(res.status), `got ${res.status}`);
      assert.ok(ms < 2000, `took ${Math.round(ms)} ms`);
    }

    const deepToken = (depth: number, open: string, close: string, leaf: string) =>
      signRaw(
        rawHeader(rsaA),
        rawClaims().replace(/\}$/, `,"junk":${nested(depth, open, close, leaf)}}`),
        rsaA,
      );

    it("10,000 nested arrays in a claim exceed 16 KiB and are refused before parsing; 10,000 nested objects exceed the body limit", async () => {
      await refused(deepToken(10_000, "[", "]", ""));
      await refused(deepToken(3_000, '{"a":', "}", "1"));
      const res = await quiet.exchange(deepToken(10_000, '{"a":', "}", "1"), DEPLOY);
      assert.equal(res.status, 413);
    });

    it("the deepest nesting that fits 16 KiB neither crashes nor takes long (no condition)", async () => {
      const arrays = deepest("[", "]", "");
      const objects = deepest('{"a":', "}", "1");
      assert.ok(arrays.depth > 5000, `array depth ${arrays.depth}`);
      assert.ok(objects.depth > 1500, `object depth ${objects.depth}`);
      await fast(arrays.token, 200);
      await fast(objects.token, 200);
      await fast(deepest("[", "]", "", { repository_id: "99" }).token, 400);
    });

    it("the deepest nesting that fits 16 KiB, evaluated by a CEL condition, is not a 5xx", async () => {
      // Admitted (the condition holds) or a non-match: either is fine, a 500 is not.
      await fast(deepest("[", "]", "", { repository_id: "78" }).token, [200, 400]);
      await fast(deepest('{"a":', "}", "1", { repository_id: "78" }).token, [200, 400]);
    });

    it("decide() with 10,000 nested arrays/objects in a claim and a CEL condition does not throw", () => {
      // As the test brokers see them: providers on loopback issuers, so no platform claim shape applies.
      const providers = ["github", "strict"].map((name) => ({ name, issuer: `http://127.0.0.1/${name}` }));
      const { set, problems } = compilePolicyFiles([{ path: "p.yaml", text: POLICIES }], { providers });
      assert.deepEqual(problems, []);
      for (const [open, close, leaf] of [
        ["[", "]", ""],
        ['{"a":', "}", "1"],
      ] as const) {
        const junk: unknown = JSON.parse(nested(10_000, open, close, leaf));
        const started = performance.now();
        const d = decide(
          set,
          { provider: "github", subject: "s", claims: { repository_id: "78", run_attempt: "1", junk } },
          { audience: DEPLOY, scopes: null, sourceIp: undefined, now: clock() },
          { maxTtl: 3600, defaultTtl: 900 },
        );
        assert.equal(typeof d.allow, "boolean");
        assert.ok(performance.now() - started < 1000);
      }
    });

    it("about a thousand claims neither crash nor take long, with or without a condition", async () => {
      const many: Claims = {};
      for (let i = 0; i < 1000; i++) many[`c${i.toString(36)}`] = i;
      await fast(tokA(many), 200);
      await fast(tokA({ ...many, repository_id: "78" }), 200);
    });

    it("__proto__ and constructor claims neither supply registered claims nor pollute prototypes", async () => {
      const proto = `"__proto__":{"polluted":1,"exp":${NOW + 300},"aud":"${BROKER_ISSUER}","iss":"${a.url}","sub":"x"}`;
      const polluter = `{${proto},"constructor":{"prototype":{"polluted":1}},`;
      // Registered claims only under __proto__: refused as if absent.
      const bare = JSON.stringify({ ...claims(), exp: undefined, aud: undefined });
      await refused(signRaw(rawHeader(rsaA), bare.replace(/^\{/, polluter), rsaA));
      await refused(
        signRaw(
          rawHeader(rsaA, {}).replace(/^\{/, '{"__proto__":{"alg":"none"},'),
          bare.replace(/^\{/, polluter),
          rsaA,
        ),
      );
      // Alongside real registered claims: accepted, and nothing leaked into Object.prototype.
      await accepted(
        signRaw(
          rawHeader(rsaA).replace(/^\{/, '{"__proto__":{"alg":"none","kid":"x"},'),
          rawClaims().replace(/^\{/, polluter),
          rsaA,
        ),
      );
      await fast(
        signRaw(rawHeader(rsaA), rawClaims({ repository_id: "78" }).replace(/^\{/, `{${proto},`), rsaA),
        200,
      );
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
      assert.equal(Object.hasOwn(Object.prototype, "polluted"), false);
    });

    it("a claim named constructor or $typeName does not turn a CEL condition into a non-match", async () => {
      for (const member of [
        '"constructor":{"k":1}',
        '"constructor":null',
        '"$typeName":"google.protobuf.Value"',
      ]) {
        await fast(
          signRaw(rawHeader(rsaA), rawClaims({ repository_id: "78" }).replace(/^\{/, `{${member},`), rsaA),
          200,
        );
      }
    });
  });

  describe("duplicate JSON keys: the last one wins, for routing and for verification alike", () => {
    // JSON.parse keeps the last duplicate. The broker parses each segment once and uses that one object to pick
    // the provider, to verify the signature and to check and decide on the claims, so no two components can read
    // different values. The issuer signed the raw bytes, duplicates included.
    const first = (json: string, member: string) => json.replace(/^\{/, `{${member},`);
    const last = (json: string, member: string) => json.replace(/\}$/, `,${member}}`);
    it('iss: {"iss":evil, "iss":real} is the real issuer\'s token; {real, evil} names no provider', async () => {
      await accepted(signRaw(rawHeader(rsaA), first(rawClaims(), '"iss":"https://evil.example"'), rsaA));
      await refused(signRaw(rawHeader(rsaA), last(rawClaims(), '"iss":"https://evil.example"'), rsaA));
    });
    table([
      [
        "iss A then B, signed by A's EC key and kid: B's JWKS decides",
        () => signRaw(rawHeader(ecA), last(rawClaims(), `"iss":"${b.url}"`), ecA),
      ],
      [
        "iss A then B, signed by A's EC key without kid",
        () => signRaw(JSON.stringify({ alg: "ES256" }), last(rawClaims(), `"iss":"${b.url}"`), ecA),
      ],
      [
        "iss B then A, signed by B's EC key",
        () => signRaw(rawHeader(ecB), last(rawClaims({ iss: b.url }), `"iss":"${a.url}"`), ecB),
      ],
      [
        "iss B then A, signed by B's EC key without kid",
        () =>
          signRaw(JSON.stringify({ alg: "ES256" }), last(rawClaims({ iss: b.url }), `"iss":"${a.url}"`), ecB),
      ],
      [
        "aud real then evil",
        () => signRaw(rawHeader(rsaA), last(rawClaims(), '"aud":"https://evil.example"'), rsaA),
      ],
      [
        "exp valid then expired",
        () => signRaw(rawHeader(rsaA), last(rawClaims(), `"exp":${NOW - 10}`), rsaA),
      ],
      [
        "repository_id 74 then 99",
        () => signRaw(rawHeader(rsaA), last(rawClaims(), '"repository_id":"99"'), rsaA),
      ],
      ["header alg RS256 then none", () => signRaw(last(rawHeader(rsaA), '"alg":"none"'), rawClaims(), rsaA)],
      ["header kid real then evil", () => signRaw(last(rawHeader(rsaA), '"kid":"evil"'), rawClaims(), rsaA)],
    ]);
    it("the mirrored orders are the issuer's own claims and are accepted", async () => {
      await accepted(signRaw(rawHeader(rsaA), first(rawClaims(), '"aud":"https://evil.example"'), rsaA));
      await accepted(signRaw(rawHeader(rsaA), first(rawClaims(), `"exp":${NOW - 10}`), rsaA));
      await accepted(signRaw(rawHeader(rsaA), first(rawClaims(), '"repository_id":"99"'), rsaA));
      await accepted(signRaw(first(rawHeader(rsaA), '"alg":"none"'), rawClaims(), rsaA));
      await accepted(signRaw(first(rawHeader(rsaA), '"kid":"evil"'), rawClaims(), rsaA));
    });
  });

  describe("base64url encoding (RFC 7515 §2)", () => {
    const pad = (s: string) => s + "=".repeat((4 - (s.length % 4)) % 4 || 0);
    const std = (s: string) => Buffer.from(s, "base64url").toString("base64").replace(/=+$/, "");
    /** A token whose signature has both '-' and '_' in it, so standard base64 spells it differently. */
    const tokWithUrlChars = () => {
      for (;;) {
        const t = tokA();
        if (/[-_]/.test(part(t, 2))) return t;
      }
    };
    table([
      [
        "padding on the signature",
        () => {
          const t = tokA();
          return withSig(t, `${part(t, 2)}==`);
        },
      ],
      [
        "padding on the header",
        () => {
          const t = tokA({}, { typ: "JWTx" });
          return `${pad(part(t, 0))}=.${part(t, 1)}.${part(t, 2)}`;
        },
      ],
      [
        "padding on the payload",
        () => {
          const t = tokA();
          return `${part(t, 0)}.${part(t, 1)}=.${part(t, 2)}`;
        },
      ],
      [
        "signature in standard base64 (+ and /)",
        () => {
          const t = tokWithUrlChars();
          return withSig(t, std(part(t, 2)));
        },
      ],
      [
        "signature in standard base64 with padding",
        () => {
          const t = tokWithUrlChars();
          return withSig(t, Buffer.from(part(t, 2), "base64url").toString("base64"));
        },
      ],
      [
        "header and payload in standard base64",
        () => {
          const t = tokA({ sub: "repo:octo-org/octo-repo:ref:refs/heads/main?>>" });
          return `${std(part(t, 0))}.${std(part(t, 1))}.${part(t, 2)}`;
        },
      ],
      [
        "a space inside the signature",
        () => {
          const t = tokA();
          const s = part(t, 2);
          return withSig(t, `${s.slice(0, 100)} ${s.slice(100)}`);
        },
      ],
      [
        "a newline inside the payload",
        () => {
          const t = tokA();
          const p = part(t, 1);
          return `${part(t, 0)}.${p.slice(0, 40)}\n${p.slice(40)}.${part(t, 2)}`;
        },
      ],
      [
        "a tab between segments",
        () => {
          const t = tokA();
          return `${part(t, 0)}.\t${part(t, 1)}.${part(t, 2)}`;
        },
      ],
      [
        "a signature of length 1 mod 4",
        () => {
          const t = tokA();
          return withSig(t, `${part(t, 2)}A`);
        },
      ],
      [
        "non-ASCII in the signature",
        () => {
          const t = tokA();
          return withSig(t, `${part(t, 2).slice(0, -1)}\u00e9`);
        },
      ],
      [
        "empty header",
        () => {
          const t = tokA();
          return `.${part(t, 1)}.${part(t, 2)}`;
        },
      ],
      [
        "empty payload",
        () => {
          const t = tokA();
          return `${part(t, 0)}..${part(t, 2)}`;
        },
      ],
      [
        "empty signature",
        () => {
          const t = tokA();
          return `${part(t, 0)}.${part(t, 1)}.`;
        },
      ],
      ["all segments empty", () => ".."],
      ["a single dot", () => "."],
      [
        "header is base64url of a JSON array",
        () => {
          const t = tokA();
          return `${b64json([{ alg: "RS256" }])}.${part(t, 1)}.${part(t, 2)}`;
        },
      ],
      [
        "payload is base64url of a JSON string",
        () => {
          const t = tokA();
          return `${part(t, 0)}.${b64json(JSON.stringify(claims()))}.${part(t, 2)}`;
        },
      ],
      [
        "payload is base64url of null",
        () => {
          const t = tokA();
          return `${part(t, 0)}.${b64json(null)}.${part(t, 2)}`;
        },
      ],
      [
        "payload with a UTF-8 BOM",
        () => {
          const t = tokA();
          return `${part(t, 0)}.${enc(`\ufeff${rawClaims()}`)}.${part(t, 2)}`;
        },
      ],
      [
        "payload in UTF-16",
        () => {
          const t = tokA();
          return `${part(t, 0)}.${Buffer.from(rawClaims(), "utf16le").toString("base64url")}.${part(t, 2)}`;
        },
      ],
    ]);

    it("a non-canonical base64url twin of a segment is refused: one token has one spelling (and one audit hash)", async () => {
      const token = tokA();
      await accepted(token);
      await refused(withSig(token, nonCanonicalTwin(part(token, 2))));
    });
  });

  it("no refused token ever appears in a log line or an audit event", () => {
    assert.ok(refusedTokens.length > 200, `${refusedTokens.length} refused tokens`);
    for (const broker of [quiet, verbose]) {
      const text = `${broker.logs.join("\n")}\n${JSON.stringify(broker.audit)}`;
      for (const t of refusedTokens) {
        for (const segment of [t, ...t.split(".")].filter((s) => s.length >= 24)) {
          assert.ok(!text.includes(segment), `log or audit holds ${segment.slice(0, 40)}…`);
        }
      }
    }
  });
});

describe("exp range abuse on the Redis store", () => {
  let redis: RedisServer;
  let broker: TestBroker;
  let idp: DemoIssuer;
  before(async () => {
    redis = await startRedisServer();
    idp = await DemoIssuer.start();
    idp.rotate(true, "ES256");
    broker = await startTestBroker({
      policies: SINGLE_USE_POLICY,
      idp,
      config: { store: { redis: redis.url } },
    });
  });
  after(async () => {
    await broker.close();
    await idp.close();
    await redis.stop();
  });

  it("a single-use token with exp 1e16 or 1e308 is never a 5xx and never replayable", async () => {
    const now = Math.floor(Date.now() / 1000);
    for (const exp of [1e16, 1e308]) {
      const token = idp.mint({ ...fixtureClaims("github-actions-branch"), iat: now, nbf: now, exp });
      const first = await broker.exchange(token, DEPLOY);
      assert.ok(first.status < 500, `exp ${exp}: got ${first.status}`);
      if (first.status === 200) assert.equal((await broker.exchange(token, DEPLOY)).status, 400);
    }
  });
});

/** The raw signature bytes of a compact token. */
function tokSig(token: string): Buffer {
  return Buffer.from(part(token, 2), "base64url");
}
