import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { OAuth2Client } from "google-auth-library";
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import { jwkThumbprint } from "../../src/signing/published-key.ts";
import { type FakeAwsKms, startFakeAwsKms } from "../fakes/aws-kms-server.ts";
import { type FakeCloudKms, startFakeCloudKms } from "../fakes/cloud-kms-server.ts";
import { BROKER_ISSUER, GITHUB_POLICY, startTestBroker, type TestBroker } from "../helpers/broker.ts";
import { fixtureClaims } from "../helpers/fixtures.ts";

/**
 * `signing.kms` end to end (CONTRACT §12): the broker signs through AWS KMS and Cloud KMS (real SDK clients,
 * loopback fakes), publishes their public keys, keeps /jwks serving through a KMS outage and serves the first
 * request after it.
 */

const DEPLOY = "https://deploy.acme.internal";
const AWS_IDENTITY = { awsCredentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "fake-kms-secret" } };

function gcpIdentity() {
  const client = new OAuth2Client();
  client.setCredentials({ access_token: "ya29.broker-adc", expiry_date: Date.now() + 3_600_000 });
  return { gcpAuthClient: client };
}

interface Jwks {
  keys: Array<Record<string, string>>;
}

describe("KMS-held signing keys", () => {
  let aws: FakeAwsKms;
  let gcp: FakeCloudKms;
  let activeArn: string;
  let retiredArn: string;
  let nextVersion: string;
  let b: TestBroker;

  const kmsConfig = (entries: unknown[]) => ({ signing: { kms: entries } });
  const awsEntry = (keyId: string, extra: Record<string, unknown> = {}) => ({
    aws: { keyId, region: "eu-west-1", endpoint: aws.endpoint },
    timeout: "1s",
    ...extra,
  });
  const gcpEntry = (keyVersion: string, extra: Record<string, unknown> = {}) => ({
    gcp: { keyVersion, apiEndpoint: gcp.host, port: gcp.port, protocol: "http" },
    ...extra,
  });
  const start = (entries: unknown[]) =>
    startTestBroker({
      policies: GITHUB_POLICY,
      config: kmsConfig(entries),
      kms: { ...AWS_IDENTITY, ...gcpIdentity() },
    });
  const exchange = (broker: TestBroker) =>
    broker.exchange(broker.idp.mint(fixtureClaims("github-actions-branch")), DEPLOY);
  const jwks = async (broker: TestBroker) => (await (await fetch(`${broker.url}/jwks`)).json()) as Jwks;

  before(async () => {
    aws = await startFakeAwsKms();
    gcp = await startFakeCloudKms();
    activeArn = aws.createKey("ECC_NIST_P256");
    retiredArn = aws.createKey("RSA_2048");
    nextVersion = gcp.createKeyVersion("EC_SIGN_P256_SHA256");
    b = await start([
      awsEntry(activeArn),
      gcpEntry(nextVersion, { status: "next" }),
      awsEntry(retiredArn, { status: "retired" }),
    ]);
  });
  after(async () => {
    await b.close();
    await Promise.all([aws.close(), gcp.close()]);
  });

  it("signs through KMS: the token verifies with the KMS public key; no key was generated or read from disk", async () => {
    const res = await exchange(b);
    assert.equal(res.status, 200);
    const { access_token: token } = (await res.json()) as { access_token: string };
    const { payload, protectedHeader } = await jwtVerify(token, aws.publicKeyOf(activeArn), {
      issuer: BROKER_ISSUER,
      typ: "at+jwt",
    });
    assert.equal(payload.aud, DEPLOY);
    assert.equal(protectedHeader.alg, "ES256");
    assert.equal(protectedHeader.kid, jwkThumbprint(aws.publicKeyOf(activeArn)));
    const sign = aws.requests.filter((r) => r.operation === "Sign");
    assert.equal(sign.at(-1)?.body.KeyId, activeArn);
    assert.equal(
      gcp.requests.filter((r) => r.method === "asymmetricSign").length,
      0,
      "a next key never signs",
    );
    assert.ok(!b.logs.some((l) => l.includes("ephemeral")), "no ephemeral key with signing.kms");
    const ready = (await (await fetch(`${b.url}/readyz`)).json()) as {
      components: { signingKeys: { source: string; keys: Array<{ publicKey: string }> } };
    };
    assert.equal(ready.components.signingKeys.source, "kms");
    assert.deepEqual(
      ready.components.signingKeys.keys.map((k) => k.publicKey),
      ["loaded", "loaded", "loaded"],
    );
  });

  it("publishes active, next and retired KMS keys in /jwks with kid = RFC 7638 thumbprint", async () => {
    const set = await jwks(b);
    assert.deepEqual(
      set.keys.map((k) => k.kid),
      [activeArn, retiredArn]
        .map((a) => jwkThumbprint(aws.publicKeyOf(a)))
        .toSpliced(1, 0, jwkThumbprint(gcp.publicKeyOf(nextVersion))),
    );
    assert.deepEqual(
      set.keys.map((k) => k.alg),
      ["ES256", "ES256", "RS256"],
    );
    assert.ok(set.keys.every((k) => k.d === undefined && k.use === "sig"));
  });

  it("KMS down: /token 503 with Retry-After, /jwks keeps serving; the first request after recovery is served", async () => {
    const before = await jwks(b);
    aws.down = true;
    try {
      const res = await exchange(b);
      const body = (await res.json()) as Record<string, unknown>;
      assert.equal(res.status, 503);
      assert.equal(body.error, "temporarily_unavailable");
      assert.ok(Number(res.headers.get("retry-after")) >= 1);
      const during = await fetch(`${b.url}/jwks`);
      assert.equal(during.status, 200);
      assert.deepEqual(await during.json(), before);
      const ready = await fetch(`${b.url}/readyz`);
      const status = (await ready.json()) as { components: { signingKeys: { lastSign: { ok: boolean } } } };
      assert.equal(status.components.signingKeys.lastSign.ok, false, "readiness reports the failing KMS");
    } finally {
      aws.down = false;
    }
    assert.equal((await exchange(b)).status, 200);
  });

  it("rotation: with the next key made active, new tokens carry its kid and tokens of the old key still verify", async () => {
    const old = (await (await exchange(b)).json()) as { access_token: string };
    const rotated = await start([
      awsEntry(activeArn, { status: "retired" }),
      gcpEntry(nextVersion),
      awsEntry(retiredArn, { status: "retired" }),
    ]);
    try {
      const res = (await (await exchange(rotated)).json()) as { access_token: string };
      const keySet = createLocalJWKSet(await jwks(rotated));
      assert.equal(decodeProtectedHeader(res.access_token).kid, jwkThumbprint(gcp.publicKeyOf(nextVersion)));
      await jwtVerify(res.access_token, keySet, { issuer: BROKER_ISSUER });
      await jwtVerify(old.access_token, keySet, { issuer: BROKER_ISSUER });
    } finally {
      await rotated.close();
    }
  });

  it("started while KMS is down: not ready and 503; once KMS answers, the first request is served", async () => {
    const arn = aws.createKey("ECC_NIST_P256");
    aws.down = true;
    const cold = await start([awsEntry(arn)]);
    try {
      assert.equal((await fetch(`${cold.url}/readyz`)).status, 503);
      assert.deepEqual(await jwks(cold), { keys: [] });
      assert.equal((await exchange(cold)).status, 503);
      aws.down = false;
      assert.equal((await exchange(cold)).status, 200);
      assert.equal((await fetch(`${cold.url}/readyz`)).status, 200);
      assert.equal((await jwks(cold)).keys[0]?.kid, jwkThumbprint(aws.publicKeyOf(arn)));
    } finally {
      aws.down = false;
      await cold.close();
    }
  });
});
