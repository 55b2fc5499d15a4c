import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { createCredentialCache } from "../../src/mint/credential-cache.ts";
import type { IssuedToken } from "../../src/mint/types.ts";

const token: IssuedToken = {
  accessToken: "credential",
  issuedTokenType: "urn:wif-broker:token-type:aws-credentials",
  tokenType: "N_A",
  expiresIn: 0,
};

describe("credential cache", () => {
  it("never serves a credential with less than minRemaining or half its lifetime left (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1_000, max: 12 * 3_600_000 }), // lifetime
        fc.integer({ min: 0, max: 2 * 3_600_000 }), // minRemaining
        fc.double({ min: 0, max: 1, noNaN: true }), // when, as a fraction of the lifetime
        (lifetime, minRemainingMs, at) => {
          const cache = createCredentialCache({ minRemainingMs });
          const t0 = 1_700_000_000_000;
          const expiresAt = t0 + lifetime;
          cache.set("k", token, expiresAt, t0);
          const now = t0 + Math.floor(at * lifetime);
          const served = cache.get("k", now);
          if (served === undefined) return;
          const left = expiresAt - now;
          assert.ok(left > minRemainingMs, `served with ${left} ms left, minimum ${minRemainingMs}`);
          assert.ok(left > lifetime / 2, `served with ${left} ms of ${lifetime} left`);
          assert.equal(served.expiresIn, Math.floor(left / 1000));
        },
      ),
    );
  });

  it("serves a credential until the bound and not after; one that lives shorter than the bound never", () => {
    const cache = createCredentialCache({ minRemainingMs: 20 * 60_000 });
    cache.set("hour", token, 3_600_000, 0);
    assert.ok(cache.get("hour", 1_799_999), "one hour: served for its first half");
    assert.equal(cache.get("hour", 1_800_000), undefined);
    cache.set("25m", token, 25 * 60_000, 0);
    assert.ok(cache.get("25m", 5 * 60_000 - 1), "25 minutes: served while more than 20 minutes are left");
    assert.equal(cache.get("25m", 5 * 60_000), undefined);
    cache.set("15m", token, 15 * 60_000, 0);
    assert.equal(cache.get("15m", 0), undefined, "15 minutes: never from the cache");
  });
});
