import assert from "node:assert/strict";
import { generateKeyPairSync, sign, verify } from "node:crypto";
import { describe, it } from "node:test";
import { derToRaw, rawToDer } from "../../src/jose/ecdsa-der.ts";
import { createSignature, verifySignature } from "../../src/jose/jwa.ts";

describe("ECDSA signature encodings (RFC 7518 §3.4)", () => {
  for (const [alg, curve, size] of [
    ["ES256", "P-256", 32],
    ["ES384", "P-384", 48],
  ] as const) {
    it(`${alg}: raw ↔ DER round-trips and agrees with node's ieee-p1363 encoding`, () => {
      const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: curve });
      for (let i = 0; i < 200; i++) {
        const data = Buffer.from(`message ${i}`);
        const raw = sign(alg === "ES256" ? "sha256" : "sha384", data, {
          key: privateKey,
          dsaEncoding: "ieee-p1363",
        });
        assert.equal(raw.length, size * 2);
        const der = rawToDer(raw);
        assert.ok(
          verify(alg === "ES256" ? "sha256" : "sha384", data, publicKey, der),
          "DER from raw verifies",
        );
        assert.deepEqual(derToRaw(der, size), raw);
        const ours = createSignature(alg, privateKey, data);
        assert.equal(ours.length, size * 2);
        assert.ok(verifySignature(alg, publicKey, data, ours));
        assert.ok(
          verify(
            alg === "ES256" ? "sha256" : "sha384",
            data,
            { key: publicKey, dsaEncoding: "ieee-p1363" },
            ours,
          ),
        );
      }
    });
  }

  it("keeps refusing zero, wrong-length and tampered signatures", () => {
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const data = Buffer.from("m");
    const good = createSignature("ES256", privateKey, data);
    assert.equal(verifySignature("ES256", publicKey, data, Buffer.alloc(64)), false);
    assert.equal(verifySignature("ES256", publicKey, data, good.subarray(0, 63)), false);
    const flipped = Buffer.from(good);
    flipped[10] = (flipped[10] ?? 0) ^ 1;
    assert.equal(verifySignature("ES256", publicKey, data, flipped), false);
    assert.equal(verifySignature("ES256", publicKey, Buffer.from("n"), good), false);
  });
});
