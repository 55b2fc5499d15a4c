import assert from "node:assert/strict";
import { generateKeyPairSync, sign } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import { STATEMENT_TYP } from "../../src/signing/certified.ts";
import { publishedJwk } from "../../src/signing/published-key.ts";
import { type FakeAwsKms, startFakeAwsKms } from "../fakes/aws-kms-server.ts";
import { BROKER_ISSUER, GITHUB_POLICY, startTestBroker, type TestBroker } from "../helpers/broker.ts";
import { fixtureClaims } from "../helpers/fixtures.ts";
import { type RedisServer, startRedisServer } from "../helpers/redis-server.ts";

/**
 * `mode: certified` (CONTRACT §12): each instance signs with an in-memory key that KMS certified once; instances
 * share the statements through Redis; /jwks lists only keys whose KMS statement verifies.
 */

const DEPLOY = "https://deploy.acme.internal";
const AWS_IDENTITY = { awsCredentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "fake-kms-secret" } };
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");

interface Jwks {
  keys: Array<Record<string, string>>;
}

describe("certified KMS signing shared through Redis", () => {
  let kms: FakeAwsKms;
  let redis: RedisServer;
  let arn: string;
  let a: TestBroker;
  let b: TestBroker;

  const start = (idp?: TestBroker["idp"]) =>
    startTestBroker({
      policies: GITHUB_POLICY,
      ...(idp ? { idp } : {}),
      kms: AWS_IDENTITY,
      config: {
        store: { redis: redis.url },
        signing: {
          kms: [{ aws: { keyId: arn, region: "eu-west-1", endpoint: kms.endpoint }, mode: "certified" }],
        },
      },
    });
  const exchange = async (broker: TestBroker) => {
    const res = await broker.exchange(broker.idp.mint(fixtureClaims("github-actions-branch")), DEPLOY);
    assert.equal(res.status, 200);
    return ((await res.json()) as { access_token: string }).access_token;
  };
  const jwks = async (broker: TestBroker) => (await (await fetch(`${broker.url}/jwks`)).json()) as Jwks;

  before(async () => {
    kms = await startFakeAwsKms();
    redis = await startRedisServer();
    arn = kms.createKey("ECC_NIST_P256");
    a = await start();
    b = await start(a.idp);
  });
  after(async () => {
    await b.close();
    await a.close();
    await Promise.all([kms.close(), redis.stop()]);
  });

  it("KMS signs once per instance; every token is signed locally and verifies with the other instance's /jwks", async () => {
    const signsAtStart = kms.signCount();
    assert.equal(signsAtStart, 2, "one certification per instance");
    const fromA = await exchange(a);
    const fromB = await exchange(b);
    for (let i = 0; i < 5; i++) await exchange(a);
    assert.equal(kms.signCount(), signsAtStart, "no KMS call per token");
    assert.notEqual(decodeProtectedHeader(fromA).kid, decodeProtectedHeader(fromB).kid);
    // /jwks re-reads the store when its last read is over a second old: B's key, certified just now, shows on A then.
    await new Promise((r) => setTimeout(r, 1100));
    for (const broker of [a, b]) {
      const keySet = createLocalJWKSet(await jwks(broker));
      await jwtVerify(fromA, keySet, { issuer: BROKER_ISSUER, typ: "at+jwt" });
      await jwtVerify(fromB, keySet, { issuer: BROKER_ISSUER, typ: "at+jwt" });
    }
    const published = await jwks(a);
    assert.equal(published.keys.length, 2);
    assert.ok(
      published.keys.every((k) => k.kid !== publishedJwk(kms.publicKeyOf(arn), "ES256").kid),
      "the certifying KMS key is not a token key",
    );
  });

  it("a tampered store cannot add a key: forged, re-signed or expired statements are not published", async () => {
    const client = new Redis(redis.url);
    try {
      const forger = generateKeyPairSync("ec", { namedCurve: "P-256" });
      const victim = generateKeyPairSync("ec", { namedCurve: "P-256" });
      const jwk = publishedJwk(victim.publicKey, "ES256");
      const now = Math.floor(Date.now() / 1000);
      const kmsKid = publishedJwk(kms.publicKeyOf(arn), "ES256").kid;
      const forge = (payload: Record<string, unknown>, kid = kmsKid) => {
        const input = `${b64({ alg: "ES256", kid, typ: STATEMENT_TYP })}.${b64(payload)}`;
        const sig = sign("sha256", Buffer.from(input), { key: forger.privateKey, dsaEncoding: "ieee-p1363" });
        return `${input}.${sig.toString("base64url")}`;
      };
      const good = { iss: BROKER_ISSUER, sub: jwk.kid, jwk, iat: now, nbf: now, exp: now + 3600 };
      // A genuine statement from the store, its payload swapped for the attacker's key.
      const [stored = ""] = Object.values(await client.hgetall("wif-broker:certified-keys"));
      const [h, , sig] = stored.slice(stored.indexOf(".") + 1).split(".");
      const spliced = `${h}.${b64(good)}.${sig}`;
      const expired = forge({ ...good, exp: now - 3600 });
      await client.hset("wif-broker:certified-keys", {
        forged: `${now + 3600}.${forge(good)}`,
        spliced: `${now + 3600}.${spliced}`,
        selfsigned: `${now + 3600}.${forge(good, "attacker-kid")}`,
        garbage: `${now + 3600}.not-a-jws`,
        expired: `${now + 3600}.${expired}`,
      });
      const genuine = [
        decodeProtectedHeader(await exchange(a)).kid,
        decodeProtectedHeader(await exchange(b)).kid,
      ];
      // Wait for the instances' periodic re-read of the store (every 5 s).
      await new Promise((r) => setTimeout(r, 5500));
      for (const broker of [a, b]) {
        const kids = (await jwks(broker)).keys.map((k) => k.kid).sort();
        assert.deepEqual(kids, [...genuine].sort(), "exactly the two instances' certified keys");
      }
      const ready = (await (await fetch(`${a.url}/readyz`)).json()) as {
        components: { signingKeys: { certified: { rejectedStatements: number } } };
      };
      assert.ok(ready.components.signingKeys.certified.rejectedStatements >= 5);
    } finally {
      client.disconnect();
    }
  });

  it("KMS down after certification: tokens are still issued (signed locally) and /jwks serves", async () => {
    kms.down = true;
    try {
      const token = await exchange(a);
      await jwtVerify(token, createLocalJWKSet(await jwks(b)), { issuer: BROKER_ISSUER });
    } finally {
      kms.down = false;
    }
  });
});

describe("certified KMS signing on one instance (memory store)", () => {
  let kms: FakeAwsKms;
  before(async () => {
    kms = await startFakeAwsKms();
  });
  after(() => kms.close());

  it("started while KMS is down: not ready, 503; the first request after recovery certifies a key and is served", async () => {
    const arn = kms.createKey("ECC_NIST_P256");
    kms.down = true;
    const broker = await startTestBroker({
      policies: GITHUB_POLICY,
      kms: AWS_IDENTITY,
      config: {
        signing: {
          kms: [
            {
              aws: { keyId: arn, region: "eu-west-1", endpoint: kms.endpoint },
              mode: "certified",
              timeout: "1s",
            },
          ],
        },
      },
    });
    try {
      assert.equal((await fetch(`${broker.url}/readyz`)).status, 503);
      const token = () => broker.exchange(broker.idp.mint(fixtureClaims("github-actions-branch")), DEPLOY);
      const down = await token();
      assert.equal(down.status, 503);
      assert.ok(Number(down.headers.get("retry-after")) >= 1);
      kms.down = false;
      const up = await token();
      assert.equal(up.status, 200);
      const { access_token: jwt } = (await up.json()) as { access_token: string };
      const keys = (await (await fetch(`${broker.url}/jwks`)).json()) as Jwks;
      await jwtVerify(jwt, createLocalJWKSet(keys), { issuer: BROKER_ISSUER });
      assert.equal(kms.signCount(), 1);
      assert.equal((await fetch(`${broker.url}/readyz`)).status, 200);
    } finally {
      kms.down = false;
      await broker.close();
    }
  });
});
