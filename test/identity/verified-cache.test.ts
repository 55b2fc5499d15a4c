import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { DemoIssuer } from "../../src/dev/demo-issuer.ts";
import { BrokerError } from "../../src/errors.ts";
import { DEFAULT_FETCH_LIMITS } from "../../src/identity/fetch.ts";
import { ProviderKeySource } from "../../src/identity/jwks.ts";
import { VERIFIED_TTL_MS, VerifiedTokenCache } from "../../src/identity/verified-cache.ts";
import { IdentityVerifier, type Provider } from "../../src/identity/verifier.ts";
import { fixtureClaims } from "../helpers/fixtures.ts";

const AUD = "https://broker.example.com";

describe("verified-token cache (repeat presenters)", () => {
  let idp: DemoIssuer;
  let now: number;
  let lookups: number;
  let v: IdentityVerifier;

  before(async () => {
    idp = await DemoIssuer.start();
  });
  after(() => idp.close());

  const fresh = (verifiedTokens?: number) => {
    now = Date.now();
    lookups = 0;
    const keys = new ProviderKeySource({
      name: "gh",
      issuer: idp.url,
      jwksUri: undefined,
      limits: { ...DEFAULT_FETCH_LIMITS, allowInsecureHttp: true },
      clock: () => now,
    });
    const counting = Object.assign(Object.create(keys), {
      keysFor: (kid: string | undefined, alg: string) => {
        lookups++;
        return keys.keysFor(kid, alg);
      },
    }) as ProviderKeySource;
    const provider: Provider = {
      name: "gh",
      issuer: idp.url,
      audiences: [AUD],
      algorithms: ["RS256"],
      keys: counting,
    };
    v = new IdentityVerifier({
      providers: [provider],
      clock: () => now,
      clockSkew: 60,
      ...(verifiedTokens === undefined ? {} : { verifiedTokens }),
    });
  };
  const token = (ttl = 3600) =>
    idp.mint(fixtureClaims("github-actions-branch", { aud: AUD, jti: randomUUID() }), { ttl });

  it("a second presentation of the same token skips the key lookup and the signature", async () => {
    fresh();
    const t = token();
    const first = await v.verify(t);
    const second = await v.verify(t);
    assert.equal(lookups, 1);
    assert.deepEqual(second, first);
    await v.verify(token());
    assert.equal(lookups, 2, "another token is verified on its own");
  });

  it("exp still holds on every presentation: a cached token is refused once it has expired", async () => {
    fresh();
    const t = token(120);
    await v.verify(t);
    now += 121_000;
    await assert.rejects(v.verify(t), (e) => e instanceof BrokerError && e.reason === "jwt.expired");
  });

  it("a verified signature is trusted at most for the JWKS freshness window, then checked again", async () => {
    fresh();
    const t = token();
    await v.verify(t);
    now += VERIFIED_TTL_MS;
    await v.verify(t);
    assert.equal(lookups, 2);
  });

  it("a token that differs in any byte is not a hit (tampered signature → bad_signature)", async () => {
    fresh();
    const t = token();
    await v.verify(t);
    const [h, p, s] = t.split(".") as [string, string, string];
    const flipped = `${h}.${p}.${s.slice(0, -2)}${s.at(-2) === "A" ? "B" : "A"}${s.at(-1)}`;
    await assert.rejects(
      v.verify(flipped),
      (e) => e instanceof BrokerError && e.kind === "bad_subject_token",
    );
  });

  it("verifiedTokens: 0 turns the cache off", async () => {
    fresh(0);
    const t = token();
    await v.verify(t);
    await v.verify(t);
    assert.equal(lookups, 2);
  });

  it("is bounded: never more entries than its maximum, and the newest is always kept", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.string({ minLength: 1, maxLength: 4 })),
        (max, keys) => {
          const cache = new VerifiedTokenCache(max);
          const entry = { provider: {} as Provider, payload: {} };
          for (const k of keys) {
            cache.set(k, entry, 2_000_000_000, 0);
            assert.ok(cache.size <= max);
            assert.ok(cache.get(k, 0));
          }
        },
      ),
    );
  });
});
