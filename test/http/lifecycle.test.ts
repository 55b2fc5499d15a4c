import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { createSignature } from "../../src/jose/jwa.ts";
import {
  BROKER_ISSUER,
  GITHUB_POLICY,
  startTestBroker,
  type TestBroker,
  TOKEN_EXCHANGE,
} from "../helpers/broker.ts";
import { fixtureClaims } from "../helpers/fixtures.ts";
import { decodeJwt, jsonOf, postForm } from "../helpers/in-process.ts";

const DEPLOY = "https://deploy.acme.internal";

/** A resource server's policy: its own identity (repository 80) may get a token for the broker itself. */
const INTROSPECTOR_POLICY = `
apiVersion: wif-broker/v1
kind: TrustPolicy
metadata: { name: resource-server }
spec:
  provider: github
  match: { repository_owner_id: "65", repository_id: "80" }
  grant:
    targets:
      - audience: ${BROKER_ISSUER}
        scopes: [wif-broker:introspect, other:scope]
        defaultScopes: [wif-broker:introspect]
      - audience: https://not-the-broker.internal
        scopes: [wif-broker:introspect]
`;

describe("POST /introspect and POST /revoke (RFC 7662, RFC 7009, CONTRACT §10)", () => {
  let b: TestBroker;
  let offsetMs = 0;
  before(async () => {
    b = await startTestBroker({
      policies: `${GITHUB_POLICY}---\n${INTROSPECTOR_POLICY}`,
      clock: () => Date.now() + offsetMs,
    });
  });
  after(() => b.close());

  const idToken = (overrides: Record<string, unknown> = {}) =>
    b.idp.mint(fixtureClaims("github-actions-branch", overrides), { ttl: 7200 });

  async function exchange(audience: string, extra: Record<string, string> = {}, repositoryId = "74") {
    const res = await postForm(b.broker, "/token", {
      grant_type: TOKEN_EXCHANGE,
      subject_token: idToken({ repository_id: repositoryId }),
      subject_token_type: "urn:ietf:params:oauth:token-type:jwt",
      audience,
      ...extra,
    });
    const body = await jsonOf(res);
    assert.equal(res.status, 200, JSON.stringify(body));
    return String(body.access_token);
  }
  const introspector = (scope?: string) => exchange(BROKER_ISSUER, scope ? { scope } : {}, "80");

  const introspect = (bearer: string | undefined, token: string) =>
    postForm(
      b.broker,
      "/introspect",
      { token },
      bearer === undefined ? {} : { authorization: `Bearer ${bearer}` },
    );

  it("answers active with the RFC 7662 members for a valid broker JWT", async () => {
    const token = await exchange(DEPLOY, { scope: "deploy:write" });
    const res = await introspect(await introspector(), token);
    const body = await jsonOf(res);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("cache-control"), "no-store");
    const { claims } = decodeJwt(token);
    assert.deepEqual(body, {
      active: true,
      iss: BROKER_ISSUER,
      sub: claims.sub,
      aud: DEPLOY,
      scope: "deploy:write",
      client_id: "octo-deploy",
      exp: claims.exp,
      iat: claims.iat,
      nbf: claims.nbf,
      jti: claims.jti,
      token_type: "Bearer",
    });
    const event = b.audit.at(-1);
    assert.equal(event?.endpoint, "/introspect");
    assert.equal(event?.active, true);
    assert.equal(event?.jti, claims.jti);
    assert.equal(event?.caller_client_id, "resource-server");
    assert.ok(!JSON.stringify(event).includes(token), "the audit line never holds the token");
  });

  it("401 without a bearer, with a challenge per scheme and no error code (RFC 6750 §3.1, RFC 9449 §7.2)", async () => {
    const res = await introspect(undefined, "x");
    assert.equal(res.status, 401);
    assert.equal(
      res.headers.get("www-authenticate"),
      'Bearer realm="wif-broker", DPoP realm="wif-broker", algs="ES256 ES384 EdDSA RS256 PS256"',
    );
    assert.equal((await jsonOf(res)).error, "invalid_token");
  });

  it("401 for a bad bearer: garbage, foreign, wrong audience, expired or revoked", async () => {
    const forNotBroker = await exchange("https://not-the-broker.internal", {}, "80");
    const revokedBearer = await introspector();
    assert.equal((await postForm(b.broker, "/revoke", { token: revokedBearer })).status, 200);
    const bearers = ["garbage", idToken(), forNotBroker, revokedBearer];
    for (const bearer of bearers) {
      const res = await introspect(bearer, "x");
      assert.equal(res.status, 401, bearer.slice(0, 20));
      assert.match(res.headers.get("www-authenticate") ?? "", /error="invalid_token"/);
    }
    const res = await b.broker.app.request("http://broker.test/introspect", {
      method: "POST",
      headers: { authorization: "Basic dXNlcjpwYXNz", "content-type": "application/x-www-form-urlencoded" },
      body: "token=x",
    });
    assert.equal(res.status, 401);
  });

  it("403 insufficient_scope for a broker JWT without wif-broker:introspect", async () => {
    const res = await introspect(await introspector("other:scope"), "x");
    assert.equal(res.status, 403);
    assert.match(
      res.headers.get("www-authenticate") ?? "",
      /error="insufficient_scope", scope="wif-broker:introspect"/,
    );
  });

  it("inactive for foreign, forged, revoked and expired tokens", async () => {
    const bearer = await introspector();
    const forged = (() => {
      const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
      const good = decodeJwt(bearer);
      const input = `${Buffer.from(JSON.stringify(good.header)).toString("base64url")}.${Buffer.from(JSON.stringify(good.claims)).toString("base64url")}`;
      return `${input}.${createSignature("ES256", privateKey, Buffer.from(input)).toString("base64url")}`;
    })();
    const revoked = await exchange(DEPLOY);
    assert.equal(
      (await postForm(b.broker, "/revoke", { token: revoked, token_type_hint: "access_token" })).status,
      200,
    );
    for (const token of [idToken(), forged, revoked, "not-a-jwt"]) {
      const res = await introspect(bearer, token);
      assert.equal(res.status, 200);
      assert.deepEqual(await jsonOf(res), { active: false });
    }
    const reasons = b.audit.slice(-4).map((e) => e.reason);
    assert.deepEqual(reasons, [
      "introspect.inactive_foreign",
      "introspect.inactive_bad_signature",
      "introspect.inactive_revoked",
      "introspect.inactive_malformed",
    ]);
  });

  it("an expired token is inactive", async () => {
    const token = await exchange(DEPLOY);
    offsetMs = 16 * 60 * 1000;
    try {
      const res = await introspect(await introspector(), token);
      assert.deepEqual(await jsonOf(res), { active: false });
      assert.equal(b.audit.at(-1)?.reason, "introspect.inactive_expired");
    } finally {
      offsetMs = 0;
    }
  });

  it("/revoke answers 200 for unknown tokens and audits which revoker took a known one", async () => {
    const unknown = await postForm(b.broker, "/revoke", { token: "ghs_unknown" });
    assert.equal(unknown.status, 200);
    assert.equal(b.audit.at(-1)?.reason, "revoke.unknown_token");
    const token = await exchange(DEPLOY);
    assert.equal((await postForm(b.broker, "/revoke", { token })).status, 200);
    const event = b.audit.at(-1);
    assert.equal(event?.endpoint, "/revoke");
    assert.equal(event?.revoker, "broker-jwt");
    assert.equal(event?.jti, undefined, "revoke does not need to name the jti");
    assert.ok(event?.token_sha256);
    // Revoking twice is still a success.
    assert.equal((await postForm(b.broker, "/revoke", { token })).status, 200);
  });

  it("/revoke refuses a missing token, a wrong content type and GET", async () => {
    const missing = await postForm(b.broker, "/revoke", {});
    assert.equal(missing.status, 400);
    assert.equal((await jsonOf(missing)).error, "invalid_request");
    const wrongType = await b.broker.app.request("http://broker.test/revoke", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    assert.equal(wrongType.status, 400);
    assert.equal((await b.broker.app.request("http://broker.test/revoke")).status, 405);
    const big = await postForm(b.broker, "/revoke", { token: "a".repeat(70 * 1024) });
    assert.equal(big.status, 413);
  });
});
