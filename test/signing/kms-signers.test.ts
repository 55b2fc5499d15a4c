import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { OAuth2Client } from "google-auth-library";
import { calculateJwkThumbprint, exportJWK, jwtVerify } from "jose";
import { BrokerError } from "../../src/errors.ts";
import { memoryLogger } from "../../src/observability/log.ts";
import { createAwsKmsSigner } from "../../src/signing/aws-kms.ts";
import { createGcpKmsSigner } from "../../src/signing/gcp-kms.ts";
import { KmsKeyRing } from "../../src/signing/key-ring.ts";
import type { Signer } from "../../src/signing/signer.ts";
import { AWS_KMS_FAILURES, type FakeAwsKms, startFakeAwsKms } from "../fakes/aws-kms-server.ts";
import { type FakeCloudKms, startFakeCloudKms } from "../fakes/cloud-kms-server.ts";

/**
 * The KMS signers through the real SDK clients (@aws-sdk/client-kms over JSON 1.1, @google-cloud/kms over REST)
 * against loopback fakes: every signature verifies with the KMS's public key as any JOSE library checks it.
 */

const ISSUER = "https://broker.example.com";
const AWS_CREDENTIALS = { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "not-a-secret-fake-kms" };
const FAST = { timeoutMs: 1500, retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 2 } };
const deadline = () => AbortSignal.timeout(5000);

function googleAuth() {
  const client = new OAuth2Client();
  client.setCredentials({ access_token: "ya29.broker-adc", expiry_date: Date.now() + 3_600_000 });
  return client;
}

async function signAndVerify(signer: Signer, expectAlg: string) {
  const ring = new KmsKeyRing(
    [{ signer, status: "active", mode: "direct" }],
    ISSUER,
    memoryLogger(),
    Date.now,
  );
  await ring.load(deadline());
  assert.ok(ring.ready(), JSON.stringify(ring.status()));
  const token = await ring.sign(
    { iss: ISSUER, sub: "s", exp: Math.floor(Date.now() / 1000) + 60 },
    "at+jwt",
    { signal: deadline() },
  );
  const { key } = await signer.publicKey(deadline());
  const { payload, protectedHeader } = await jwtVerify(token, key, { issuer: ISSUER, typ: "at+jwt" });
  assert.equal(payload.sub, "s");
  assert.equal(protectedHeader.alg, expectAlg);
  // kid = RFC 7638 thumbprint, as jose computes it.
  const [jwk] = ring.jwks().keys;
  assert.equal(protectedHeader.kid, await calculateJwkThumbprint(await exportJWK(key)));
  assert.equal(jwk?.kid, protectedHeader.kid);
  assert.equal(jwk?.alg, expectAlg);
  assert.equal(jwk?.d, undefined);
  ring.close();
}

describe("AWS KMS signer (real @aws-sdk/client-kms, fake TrentService)", () => {
  let kms: FakeAwsKms;
  before(async () => {
    kms = await startFakeAwsKms();
  });
  after(() => kms.close());
  const signer = (keyId: string, algorithm?: "RS256" | "PS256") =>
    createAwsKmsSigner({
      keyId,
      region: "eu-west-1",
      endpoint: kms.endpoint,
      credentials: AWS_CREDENTIALS,
      ...FAST,
      ...(algorithm ? { algorithm } : {}),
    });

  for (const [spec, alg, kmsAlg] of [
    ["ECC_NIST_P256", undefined, "ECDSA_SHA_256"],
    ["RSA_2048", "RS256", "RSASSA_PKCS1_V1_5_SHA_256"],
    ["RSA_2048", "PS256", "RSASSA_PSS_SHA_256"],
  ] as const) {
    it(`${spec} ${alg ?? "ES256"}: Sign with MessageType DIGEST, the JWS verifies with the KMS public key`, async () => {
      kms.reset();
      await signAndVerify(signer(kms.createKey(spec), alg), alg ?? "ES256");
      const call = kms.requests.find((r) => r.operation === "Sign");
      assert.equal(call?.body.MessageType, "DIGEST");
      assert.equal(call?.body.SigningAlgorithm, kmsAlg);
      assert.equal(
        Buffer.from(String(call?.body.Message), "base64").length,
        32,
        "only the digest reaches KMS",
      );
      assert.match(call?.authorization ?? "", /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\//);
    });
  }

  it("an outage is 503 unavailable; the first call after recovery signs", async () => {
    const s = signer(kms.createKey("ECC_NIST_P256"));
    await s.publicKey(deadline());
    kms.down = true;
    await assert.rejects(s.sign(Buffer.from("x"), deadline()), (e: unknown) => {
      assert.ok(e instanceof BrokerError);
      assert.equal(e.kind, "unavailable");
      assert.ok((e.retryAfter ?? 0) >= 1);
      return true;
    });
    kms.down = false;
    assert.equal((await s.sign(Buffer.from("x"), deadline())).length, 64);
  });

  it("a hanging KMS is cut at the KMS timeout: 503, not a hung request", async () => {
    const s = createAwsKmsSigner({
      keyId: kms.createKey("ECC_NIST_P256"),
      region: "eu-west-1",
      endpoint: kms.endpoint,
      credentials: AWS_CREDENTIALS,
      timeoutMs: 300,
      retry: { attempts: 1 },
    });
    await s.publicKey(deadline());
    kms.fail(AWS_KMS_FAILURES.hang);
    const started = Date.now();
    await assert.rejects(
      s.sign(Buffer.from("x"), deadline()),
      (e: unknown) => e instanceof BrokerError && e.kind === "unavailable",
    );
    assert.ok(Date.now() - started < 2000);
  });

  it("a disabled key is the operator's problem (server_error), never the client's target", async () => {
    const s = signer(kms.createKey("ECC_NIST_P256"));
    await s.publicKey(deadline());
    kms.fail(AWS_KMS_FAILURES.disabled);
    await assert.rejects(
      s.sign(Buffer.from("x"), deadline()),
      (e: unknown) => e instanceof BrokerError && e.kind === "server_error",
    );
  });
});

describe("Cloud KMS signer (real @google-cloud/kms REST fallback, fake cloudkms.googleapis.com)", () => {
  let kms: FakeCloudKms;
  before(async () => {
    kms = await startFakeCloudKms();
  });
  after(() => kms.close());
  const signer = (keyVersion: string) =>
    createGcpKmsSigner({
      keyVersion,
      apiEndpoint: kms.host,
      port: kms.port,
      protocol: "http",
      authClient: googleAuth(),
      ...FAST,
    });

  for (const [algorithm, alg] of [
    ["EC_SIGN_P256_SHA256", "ES256"],
    ["RSA_SIGN_PKCS1_2048_SHA256", "RS256"],
    ["RSA_SIGN_PSS_2048_SHA256", "PS256"],
  ] as const) {
    it(`${algorithm}: asymmetricSign over the digest, the JWS verifies with the KMS public key`, async () => {
      kms.reset();
      await signAndVerify(signer(kms.createKeyVersion(algorithm)), alg);
      const call = kms.requests.find((r) => r.method === "asymmetricSign");
      assert.ok(call);
      const digest = call.body.digest as { sha256: string };
      assert.equal(Buffer.from(digest.sha256, "base64").length, 32, "only the digest reaches KMS");
      assert.equal(call?.authorization, "Bearer ya29.broker-adc");
    });
  }

  it("an outage is 503 unavailable; the first call after recovery signs", async () => {
    const s = signer(kms.createKeyVersion("EC_SIGN_P256_SHA256"));
    await s.publicKey(deadline());
    kms.down = true;
    await assert.rejects(
      s.sign(Buffer.from("x"), deadline()),
      (e: unknown) => e instanceof BrokerError && e.kind === "unavailable",
    );
    kms.down = false;
    assert.equal((await s.sign(Buffer.from("x"), deadline())).length, 64);
  });
});
