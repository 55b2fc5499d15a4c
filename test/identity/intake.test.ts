import assert from "node:assert/strict";
import { createHmac, generateKeyPairSync } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { DemoIssuer } from "../../src/dev/demo-issuer.ts";
import { BrokerError } from "../../src/errors.ts";
import { DEFAULT_FETCH_LIMITS } from "../../src/identity/fetch.ts";
import { ProviderKeySource } from "../../src/identity/jwks.ts";
import { IdentityVerifier, type Provider } from "../../src/identity/verifier.ts";
import { fixtureClaims } from "../helpers/fixtures.ts";

const AUD = "https://broker.example.com";
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");

function provider(
  idp: DemoIssuer,
  name: string,
  algorithms = ["RS256", "RS512", "ES256", "EdDSA"],
): Provider {
  return {
    name,
    issuer: idp.url,
    audiences: [AUD],
    algorithms,
    keys: new ProviderKeySource({
      name,
      issuer: idp.url,
      jwksUri: undefined,
      limits: { ...DEFAULT_FETCH_LIMITS, allowInsecureHttp: true },
      clock: Date.now,
    }),
  };
}

async function rejects(p: Promise<unknown>, reason: string | RegExp) {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof BrokerError, `expected BrokerError, got ${String(e)}`);
    assert.equal(e.kind, "bad_subject_token");
    if (typeof reason === "string") assert.equal(e.reason, reason);
    else assert.match(e.reason, reason);
    return true;
  });
}

describe("token intake (CONTRACT §2)", () => {
  let a: DemoIssuer;
  let other: DemoIssuer;
  let v: IdentityVerifier;
  const claims = (over: Record<string, unknown> = {}) =>
    fixtureClaims("github-actions-branch", { aud: AUD, ...over });

  before(async () => {
    a = await DemoIssuer.start();
    other = await DemoIssuer.start();
    v = new IdentityVerifier({
      providers: [provider(a, "a"), provider(other, "b")],
      clock: Date.now,
      clockSkew: 60,
    });
  });
  after(async () => {
    await a.close();
    await other.close();
  });

  it("accepts a valid token and returns its claims untouched", async () => {
    const id = await v.verify(a.mint(claims()));
    assert.equal(id.provider, "a");
    assert.equal(id.subject, "repo:octo-org/octo-repo:ref:refs/heads/main");
    assert.equal(id.claims.repository_id, "74");
    assert.match(id.tokenSha256, /^[0-9a-f]{64}$/);
  });

  it("accepts an audience array that contains an accepted audience (Kubernetes style)", async () => {
    const id = await v.verify(a.mint(fixtureClaims("kubernetes-projected")));
    assert.equal(id.subject, "system:serviceaccount:payments:api");
  });

  for (const alg of ["none", "None", "NONE", "nOnE"]) {
    it(`refuses alg ${alg}`, async () => {
      const unsigned = `${b64({ alg, typ: "JWT" })}.${b64({ ...claims(), iss: a.url, exp: 9e9 })}.`;
      await rejects(v.verify(unsigned), /jwt\.(unsigned|alg_not_allowed)/);
      await rejects(v.verify(`${unsigned}AAAA`), "jwt.alg_not_allowed");
    });
  }

  it("refuses HS256 keyed with the issuer's RSA public key, as PEM and as JWK", async () => {
    const pem = a.currentKey.jwk;
    const { createPublicKey } = await import("node:crypto");
    const pubPem = createPublicKey({ key: pem, format: "jwk" }).export({ type: "spki", format: "pem" });
    for (const secret of [String(pubPem), JSON.stringify(pem)]) {
      const input = `${b64({ alg: "HS256", kid: a.currentKey.kid })}.${b64({ ...claims(), iss: a.url, exp: 9e9 })}`;
      const sig = createHmac("sha256", secret).update(input).digest("base64url");
      await rejects(v.verify(`${input}.${sig}`), "jwt.alg_not_allowed");
    }
  });

  it("refuses a valid signature whose alg is off the provider's allowlist", async () => {
    const strict = new IdentityVerifier({
      providers: [provider(a, "a", ["ES256"])],
      clock: Date.now,
      clockSkew: 60,
    });
    await rejects(strict.verify(a.mint(claims())), "jwt.alg_not_allowed");
  });

  it("refuses a header alg that differs from the key's algorithm", async () => {
    await rejects(
      v.verify(a.mint(claims(), { header: { alg: "RS512" } })),
      /jwt\.(unknown_key|bad_signature)/,
    );
  });

  it("refuses an unknown kid", async () => {
    await rejects(v.verify(a.mint(claims(), { header: { kid: "no-such-key" } })), "jwt.unknown_key");
    await rejects(v.verify(a.mint(claims(), { header: { kid: "../../../etc/passwd" } })), "jwt.unknown_key");
  });

  for (const name of ["jku", "x5u", "jwk", "x5c"]) {
    it(`refuses a token carrying a ${name} header`, async () => {
      await rejects(
        v.verify(
          a.mint(claims(), { header: { [name]: name === "x5c" ? ["MIIB"] : "https://evil.example/keys" } }),
        ),
        "jwt.embedded_key",
      );
    });
  }

  it("refuses unknown crit and b64:false", async () => {
    await rejects(v.verify(a.mint(claims(), { header: { crit: ["exp"], exp: 1 } })), "jwt.crit");
    await rejects(v.verify(a.mint(claims(), { header: { b64: false, crit: ["b64"] } })), "jwt.crit");
  });

  it("refuses JWE and JWS JSON serialization", async () => {
    await rejects(v.verify("eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.a.b.c.d"), "jwt.encrypted");
    await rejects(v.verify(JSON.stringify({ payload: "x", signatures: [] })), "jwt.malformed");
  });

  it("refuses expired tokens and tokens without a numeric exp", async () => {
    await rejects(v.verify(a.mint(claims({ exp: Math.floor(Date.now() / 1000) - 1 }))), "jwt.expired");
    const { exp: _e, ...noExp } = JSON.parse(
      Buffer.from(a.mint(claims()).split(".")[1] ?? "", "base64url").toString(),
    );
    await rejects(v.verify(a.mint(claims({ exp: undefined }))), "jwt.exp_missing");
    assert.ok(noExp);
    await rejects(v.verify(a.mint(claims({ exp: "9999999999" }))), "jwt.exp_invalid");
    await rejects(v.verify(a.mint(claims({ exp: null }))), "jwt.exp_invalid");
  });

  it("honours nbf and iat with at most 60 s leeway", async () => {
    const now = Math.floor(Date.now() / 1000);
    await v.verify(a.mint(claims({ nbf: now + 30, iat: now + 30 })));
    await rejects(v.verify(a.mint(claims({ nbf: now + 120 }))), "jwt.not_yet_valid");
    await rejects(v.verify(a.mint(claims({ iat: now + 120 }))), "jwt.iat_future");
    await rejects(v.verify(a.mint(claims({ nbf: "0" }))), "jwt.nbf_invalid");
  });

  it("compares aud exactly and refuses aud of the wrong type", async () => {
    await rejects(v.verify(a.mint(claims({ aud: `${AUD}/` }))), "jwt.aud_mismatch");
    await rejects(v.verify(a.mint(claims({ aud: "HTTPS://broker.example.com" }))), "jwt.aud_mismatch");
    await rejects(v.verify(a.mint(claims({ aud: [1, AUD] }))), "jwt.aud_invalid");
    await rejects(v.verify(a.mint(claims({ aud: { AUD } }))), "jwt.aud_invalid");
    await rejects(v.verify(a.mint(claims({ aud: [] }))), "jwt.aud_invalid");
  });

  it("compares iss exactly: variants name no provider and cause no outbound request", async () => {
    const seen = a.requests.length + other.requests.length;
    for (const iss of [`${a.url}/`, a.url.toUpperCase(), ` ${a.url}`, "https://evil.example"]) {
      await rejects(v.verify(a.mint(claims({ iss }))), "jwt.unknown_issuer");
    }
    await rejects(v.verify(a.mint(claims({ iss: 42 }))), "jwt.unknown_issuer");
    assert.equal(a.requests.length + other.requests.length, seen, "no request to any issuer");
  });

  it("never verifies provider A's token with provider B's key", async () => {
    const bKey = { privateKey: other.currentKey.privateKey, alg: "RS256" };
    // B's key, B's kid, A's iss: A's JWKS has no such kid.
    await rejects(
      v.verify(a.mint(claims(), { key: { ...bKey, kid: other.currentKey.kid } })),
      "jwt.unknown_key",
    );
    // B's key under A's kid: the signature does not verify with A's key.
    await rejects(
      v.verify(a.mint(claims(), { key: { ...bKey, kid: a.currentKey.kid } })),
      "jwt.bad_signature",
    );
  });

  it("refuses ECDSA signatures that are DER-encoded or all zero (RFC 7518 §3.4)", async () => {
    const ec = await DemoIssuer.start();
    ec.rotate(true, "ES256");
    try {
      const ev = new IdentityVerifier({ providers: [provider(ec, "ec")], clock: Date.now, clockSkew: 60 });
      const good = ec.mint(claims({ iss: ec.url }));
      await ev.verify(good);
      const [h, p, s] = good.split(".") as [string, string, string];
      const raw = Buffer.from(s, "base64url");
      const der = derFromRaw(raw);
      await rejects(ev.verify(`${h}.${p}.${der.toString("base64url")}`), "jwt.bad_signature");
      await rejects(ev.verify(`${h}.${p}.${Buffer.alloc(64).toString("base64url")}`), "jwt.bad_signature");
    } finally {
      await ec.close();
    }
  });

  it("checks claim types: sub must be a non-empty string, jti a string", async () => {
    await rejects(v.verify(a.mint(claims({ sub: 42 }))), "jwt.sub_invalid");
    await rejects(v.verify(a.mint(claims({ sub: "" }))), "jwt.sub_invalid");
    await rejects(v.verify(a.mint(claims({ jti: 7 }))), "jwt.jti_invalid");
  });

  it("refuses malformed compact tokens", async () => {
    for (const t of [
      "",
      "a.b",
      "a.b.c.d",
      "!!.e30.sig",
      `${b64({ alg: "RS256" })}.bm90IGpzb24.c2ln`,
      `${b64([1])}.${b64({})}.c2ln`,
    ]) {
      await assert.rejects(
        v.verify(t),
        (e: unknown) => e instanceof BrokerError && e.kind === "bad_subject_token",
      );
    }
  });

  it("rejects an RSA key shorter than 2048 bits (RFC 7518 §3.3)", async () => {
    const weak = generateKeyPairSync("rsa", { modulusLength: 1024 });
    const { keyFitsAlgorithm } = await import("../../src/jose/jwa.ts");
    assert.equal(keyFitsAlgorithm(weak.publicKey, "RS256"), false);
  });
});

/** DER-encodes a raw R||S ECDSA signature (what a JOSE verifier must refuse). */
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
