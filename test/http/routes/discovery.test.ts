import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fakeApp } from "../../helpers/app.ts";

describe("discovery routes in-process", () => {
  it("happy: RFC 8414 metadata from the deps (issuer verbatim, scopes and algorithms of the catalogue)", async () => {
    const { app } = fakeApp();
    const res = await app.request("/.well-known/oauth-authorization-server");
    assert.equal(res.status, 200);
    const m = (await res.json()) as Record<string, unknown>;
    assert.equal(m.issuer, "https://broker.example.com");
    assert.equal(m.token_endpoint, "https://broker.example.com/token");
    assert.deepEqual(m.scopes_supported, ["deploy:read"]);
    assert.deepEqual(m.token_endpoint_auth_signing_alg_values_supported, ["ES256", "RS256"]);
  });

  it("happy: OpenID configuration lists the signing algorithms of /jwks and the templated claims", async () => {
    const { app } = fakeApp();
    const m = (await (await app.request("/.well-known/openid-configuration")).json()) as {
      id_token_signing_alg_values_supported: string[];
      claims_supported: string[];
    };
    assert.deepEqual(m.id_token_signing_alg_values_supported, ["ES256"]);
    assert.ok(m.claims_supported.includes("repo"));
    assert.ok(m.claims_supported.includes("sub"));
    const jwks = (await (await app.request("/jwks")).json()) as { keys: Array<{ kid: string }> };
    assert.deepEqual(
      jwks.keys.map((k) => k.kid),
      ["k1"],
    );
  });

  it("error: other methods → 405 with Allow; unknown paths → 404 in the OAuth error shape", async () => {
    const { app } = fakeApp();
    const post = await app.request("/jwks", { method: "POST" });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get("allow"), "GET, HEAD");
    const missing = await app.request("/.well-known/nothing");
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { error: string }).error, "not_found");
  });

  it("security: discovery answers are never cached and carry nosniff", async () => {
    const { app } = fakeApp();
    for (const path of ["/.well-known/openid-configuration", "/jwks"]) {
      const res = await app.request(path);
      assert.equal(res.headers.get("cache-control"), "no-store");
      assert.equal(res.headers.get("x-content-type-options"), "nosniff");
    }
  });
});
