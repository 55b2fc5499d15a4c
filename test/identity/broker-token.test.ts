/**
 * BrokerTokenVerifier's key cache: the broker's public keys are imported once per published key set (a set stays
 * the same object until the keys change), and a rotation — a new set — is picked up at once.
 */
import assert from "node:assert/strict";
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { describe, it } from "node:test";
import { BrokerTokenVerifier } from "../../src/identity/broker-token.ts";
import { createSignature } from "../../src/jose/jwa.ts";
import { memoryLogger } from "../../src/observability/log.ts";
import { storeDenyList } from "../../src/revocation/deny-list.ts";
import type { JwksPublisher } from "../../src/signing/broker-keys.ts";
import { keyObjectSigner } from "../../src/signing/key-object.ts";
import { KmsKeyRing } from "../../src/signing/key-ring.ts";
import { type PublicJwk, publishedJwk } from "../../src/signing/published-key.ts";
import type { Signer } from "../../src/signing/signer.ts";
import { createMemoryStore } from "../../src/store/index.ts";

const ISSUER = "https://broker.example.com";
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");

function brokerKey() {
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  return { privateKey, jwk: publishedJwk(privateKey, "ES256") };
}

function tokenBy(k: { privateKey: KeyObject; jwk: PublicJwk }): string {
  const input = `${b64({ alg: "ES256", kid: k.jwk.kid, typ: "at+jwt" })}.${b64({
    iss: ISSUER,
    sub: "s",
    jti: `j-${Math.random()}`,
    exp: Math.floor(Date.now() / 1000) + 60,
  })}`;
  return `${input}.${createSignature("ES256", k.privateKey, Buffer.from(input)).toString("base64url")}`;
}

/** A published set whose `keys` counts its reads: the verifier reads it only to import the keys. */
function countedSet(keys: PublicJwk[]) {
  const set = {
    reads: 0,
    get keys() {
      set.reads++;
      return keys;
    },
  };
  return set;
}

const verifierOf = (publisher: () => JwksPublisher) =>
  new BrokerTokenVerifier(publisher, ISSUER, Date.now, storeDenyList(createMemoryStore()));

describe("BrokerTokenVerifier keys (cached per published key set)", () => {
  it("imports a set's keys once however many tokens it checks, and a rotated set at once", async () => {
    const first = brokerKey();
    const second = brokerKey();
    let current = countedSet([first.jwk]);
    const v = verifierOf(() => ({ jwks: () => current }));
    for (let i = 0; i < 20; i++) assert.equal((await v.active(tokenBy(first))).ok, true);
    assert.equal(current.reads, 1, "one import for twenty checks");
    assert.deepEqual(v.authentic(tokenBy(second)), { ok: false, reason: "foreign" });

    // Rotation: the next key is published beside the first, then the first is removed.
    const staged = countedSet([first.jwk, second.jwk]);
    current = staged;
    assert.equal((await v.active(tokenBy(second))).ok, true);
    assert.equal((await v.active(tokenBy(first))).ok, true);
    assert.equal(staged.reads, 1);
    current = countedSet([second.jwk]);
    assert.deepEqual(v.authentic(tokenBy(first)), { ok: false, reason: "foreign" });
    assert.equal((await v.active(tokenBy(second))).ok, true);
    assert.equal(current.reads, 1);
  });

  it("a KMS key ring publishes one set object until a key loads, and tokens of the newly loaded key then verify", async () => {
    const active = brokerKey();
    const next = brokerKey();
    let nextReachable = false;
    const nextLocal = keyObjectSigner(next.privateKey, "ES256", "memory", "next");
    const kms = (local: Signer, reachable: () => boolean): Signer => ({
      ...local,
      backend: "aws-kms",
      publicKey: (signal) => (reachable() ? local.publicKey(signal) : Promise.reject(new Error("KMS down"))),
    });
    const ring = new KmsKeyRing(
      [
        {
          signer: kms(keyObjectSigner(active.privateKey, "ES256", "memory", "a"), () => true),
          status: "active",
          mode: "direct",
        },
        { signer: kms(nextLocal, () => nextReachable), status: "next", mode: "direct" },
      ],
      ISSUER,
      memoryLogger(),
      Date.now,
    );
    try {
      await ring.load(AbortSignal.timeout(5000));
      const v = verifierOf(ring.current);
      const before = ring.jwks();
      assert.equal(ring.jwks(), before, "the same object while nothing changes");
      assert.deepEqual(
        before.keys.map((k) => k.kid),
        [active.jwk.kid],
      );
      assert.equal((await v.active(tokenBy(active))).ok, true);
      assert.deepEqual(v.authentic(tokenBy(next)), { ok: false, reason: "foreign" });

      nextReachable = true;
      await ring.load(AbortSignal.timeout(5000));
      const after = ring.jwks();
      assert.notEqual(after, before, "a key that loads makes a new set");
      assert.equal(ring.jwks(), after);
      assert.equal((await v.active(tokenBy(next))).ok, true);
      assert.equal((await v.active(tokenBy(active))).ok, true);
    } finally {
      ring.close();
    }
  });
});
