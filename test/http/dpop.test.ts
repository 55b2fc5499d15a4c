import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
import { DemoIssuer } from "../../src/dev/demo-issuer.ts";
import { accessTokenHash } from "../../src/identity/dpop.ts";
import {
  BROKER_ISSUER,
  GITHUB_POLICY,
  JWT_TYPE,
  startTestBroker,
  type TestBroker,
  TOKEN_EXCHANGE,
} from "../helpers/broker.ts";
import { fixtureClaims } from "../helpers/fixtures.ts";
import { decodeJwt, jsonOf, postForm } from "../helpers/in-process.ts";
import { type RedisServer, startRedisServer } from "../helpers/redis-server.ts";

const DEPLOY = "https://deploy.acme.internal";
const BOUND = "https://bound.acme.internal";
const TOKEN_ENDPOINT = `${BROKER_ISSUER}/token`;
const INTROSPECT_ENDPOINT = `${BROKER_ISSUER}/introspect`;

const POLICIES = `${GITHUB_POLICY}---
apiVersion: wif-broker/v1
kind: TrustPolicy
metadata: { name: bound-only }
spec:
  provider: github
  match: { repository_owner_id: "65", repository_id: "90" }
  grant: { targets: [{ audience: ${BOUND}, requireDpop: true }] }
---
apiVersion: wif-broker/v1
kind: TrustPolicy
metadata: { name: rs }
spec:
  provider: github
  match: { repository_owner_id: "65", repository_id: "80" }
  grant: { targets: [{ audience: ${BROKER_ISSUER}, scopes: [wif-broker:introspect], defaultScopes: [wif-broker:introspect] }] }
`;

async function dpopClient() {
  const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
  const jwk = await exportJWK(publicKey);
  return {
    jkt: await calculateJwkThumbprint(jwk),
    proof: (claims: Record<string, unknown> = {}) =>
      new SignJWT({
        jti: randomUUID(),
        htm: "POST",
        htu: TOKEN_ENDPOINT,
        iat: Math.floor(Date.now() / 1000),
        ...claims,
      })
        .setProtectedHeader({ alg: "ES256", typ: "dpop+jwt", jwk: jwk as JWK })
        .sign(privateKey),
  };
}

describe("DPoP-bound tokens on /token (RFC 9449, CONTRACT §9)", () => {
  let b: TestBroker;
  before(async () => {
    b = await startTestBroker({ policies: POLICIES });
  });
  after(() => b.close());

  const idToken = (repositoryId = "74") =>
    b.idp.mint(fixtureClaims("github-actions-branch", { repository_id: repositoryId }));
  const exchange = (audience: string, dpop?: string, repositoryId?: string) =>
    postForm(
      b.broker,
      "/token",
      {
        grant_type: TOKEN_EXCHANGE,
        subject_token: idToken(repositoryId),
        subject_token_type: JWT_TYPE,
        audience,
      },
      dpop === undefined ? {} : { dpop },
    );

  it("binds the issued JWT to the proof key: cnf.jkt, token_type DPoP, audited thumbprint", async () => {
    const c = await dpopClient();
    const res = await exchange(DEPLOY, await c.proof());
    const body = await jsonOf(res);
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(body.token_type, "DPoP");
    assert.deepEqual(decodeJwt(body.access_token).claims.cnf, { jkt: c.jkt });
    assert.equal(b.audit.at(-1)?.dpop_jkt, c.jkt);
  });

  it("without a proof the token is a plain bearer token", async () => {
    const body = await jsonOf(await exchange(DEPLOY));
    assert.equal(body.token_type, "Bearer");
    assert.equal(decodeJwt(body.access_token).claims.cnf, undefined);
  });

  it("requireDpop: a target refuses requests without a proof, and takes one with", async () => {
    const res = await exchange(BOUND, undefined, "90");
    assert.equal(res.status, 400);
    assert.equal((await jsonOf(res)).error, "invalid_dpop_proof");
    assert.equal(b.audit.at(-1)?.reason, "policy.dpop_required");
    const c = await dpopClient();
    assert.equal((await exchange(BOUND, await c.proof(), "90")).status, 200);
  });

  it("refuses a bad proof, a replayed proof, a wrong htu and a stale iat with invalid_dpop_proof", async () => {
    const c = await dpopClient();
    const replayed = await c.proof();
    assert.equal((await exchange(DEPLOY, replayed)).status, 200);
    const cases: Array<[string, string]> = [
      ["garbage", "dpop.malformed"],
      [replayed, "dpop.replayed"],
      [await c.proof({ htu: `${BROKER_ISSUER}/introspect` }), "dpop.htu"],
      [await c.proof({ iat: Math.floor(Date.now() / 1000) - 120 }), "dpop.iat"],
    ];
    for (const [proof, reason] of cases) {
      const res = await exchange(DEPLOY, proof);
      const body = await jsonOf(res);
      assert.equal(res.status, 400, reason);
      assert.equal(body.error, "invalid_dpop_proof");
      assert.equal(b.audit.at(-1)?.reason, reason);
    }
  });

  it("introspection of a bound token reports token_type DPoP and cnf; another broker finds it foreign", async () => {
    const c = await dpopClient();
    const token = String((await jsonOf(await exchange(DEPLOY, await c.proof()))).access_token);
    const bearer = String((await jsonOf(await exchange(BROKER_ISSUER, undefined, "80"))).access_token);
    const res = await postForm(b.broker, "/introspect", { token }, { authorization: `Bearer ${bearer}` });
    const body = await jsonOf(res);
    assert.equal(body.active, true);
    assert.equal(body.token_type, "DPoP");
    assert.deepEqual(body.cnf, { jkt: c.jkt });
    // A bound token is not a bearer credential for /introspect itself (RFC 9449 §7.1).
    const boundBearer = await postForm(
      b.broker,
      "/introspect",
      { token },
      { authorization: `Bearer ${token}` },
    );
    assert.equal(boundBearer.status, 401);

    const other = await startTestBroker({ idp: b.idp, policies: POLICIES });
    try {
      const otherBearer = String(
        (
          await jsonOf(
            await postForm(other.broker, "/token", {
              grant_type: TOKEN_EXCHANGE,
              subject_token: idToken("80"),
              subject_token_type: JWT_TYPE,
              audience: BROKER_ISSUER,
            }),
          )
        ).access_token,
      );
      const foreign = await postForm(
        other.broker,
        "/introspect",
        { token },
        { authorization: `Bearer ${otherBearer}` },
      );
      assert.deepEqual(await jsonOf(foreign), { active: false });
    } finally {
      await other.close();
    }
  });

  describe("/introspect with the DPoP scheme (RFC 9449 §7.1)", () => {
    /** A DPoP-bound token for the broker (the resource server's own identity, repository 80), and a token to ask about. */
    async function setUp() {
      const rs = await dpopClient();
      const res = await exchange(BROKER_ISSUER, await rs.proof(), "80");
      const body = await jsonOf(res);
      assert.equal(res.status, 200, JSON.stringify(body));
      assert.equal(body.token_type, "DPoP");
      const caller = String(body.access_token);
      const asked = String((await jsonOf(await exchange(DEPLOY))).access_token);
      const forIntrospect = (claims: Record<string, unknown> = {}) =>
        rs.proof({ htu: INTROSPECT_ENDPOINT, ath: accessTokenHash(caller), ...claims });
      return { rs, caller, asked, forIntrospect };
    }
    const introspect = (token: string, headers: Record<string, string>) =>
      postForm(b.broker, "/introspect", { token }, headers);

    it("accepts a DPoP-bound caller token with a proof by its key for this request (any case of the scheme)", async () => {
      const { caller, asked, forIntrospect } = await setUp();
      for (const scheme of ["DPoP", "dpop"]) {
        const res = await introspect(asked, {
          authorization: `${scheme} ${caller}`,
          dpop: await forIntrospect(),
        });
        const body = await jsonOf(res);
        assert.equal(res.status, 200, JSON.stringify(body));
        assert.equal(body.active, true);
        assert.equal(b.audit.at(-1)?.caller_client_id, "rs");
      }
    });

    it("refuses a missing proof, a proof for another htu, another key, another token or a replay: 401 invalid_dpop_proof", async () => {
      const { caller, asked, forIntrospect } = await setUp();
      const stranger = await dpopClient();
      const used = await forIntrospect();
      assert.equal((await introspect(asked, { authorization: `DPoP ${caller}`, dpop: used })).status, 200);
      const cases: Array<[string, string | undefined, string]> = [
        ["no proof", undefined, "introspect.dpop_no_proof"],
        ["a proof for the token endpoint", await forIntrospect({ htu: TOKEN_ENDPOINT }), "dpop.htu"],
        [
          "a proof by another key than the token is bound to",
          await stranger.proof({ htu: INTROSPECT_ENDPOINT, ath: accessTokenHash(caller) }),
          "dpop.key_mismatch",
        ],
        [
          "a proof for another access token",
          await forIntrospect({ ath: accessTokenHash(asked) }),
          "dpop.ath",
        ],
        ["a proof without ath", await forIntrospect({ ath: undefined }), "dpop.ath"],
        ["a replayed proof", used, "dpop.replayed"],
        ["a proof for GET", await forIntrospect({ htm: "GET" }), "dpop.htm"],
      ];
      for (const [name, dpop, reason] of cases) {
        const res = await introspect(asked, { authorization: `DPoP ${caller}`, ...(dpop ? { dpop } : {}) });
        const body = await jsonOf(res);
        assert.equal(res.status, 401, name);
        assert.equal(body.error, "invalid_dpop_proof", name);
        assert.equal(
          res.headers.get("www-authenticate"),
          'DPoP realm="wif-broker", error="invalid_dpop_proof", algs="ES256 ES384 EdDSA RS256 PS256"',
          name,
        );
        assert.equal(b.audit.at(-1)?.reason, reason, name);
        assert.equal(b.audit.at(-1)?.active, undefined, `${name}: nothing was introspected`);
      }
    });

    it("refuses the DPoP scheme with an unbound token, and the bound token as a bearer: 401 invalid_token", async () => {
      const { caller, asked, forIntrospect } = await setUp();
      const unbound = String((await jsonOf(await exchange(BROKER_ISSUER, undefined, "80"))).access_token);
      const res = await introspect(asked, {
        authorization: `DPoP ${unbound}`,
        dpop: await forIntrospect({ ath: accessTokenHash(unbound) }),
      });
      assert.equal(res.status, 401);
      assert.match(
        res.headers.get("www-authenticate") ?? "",
        /^DPoP realm="wif-broker", error="invalid_token"/,
      );
      assert.equal(b.audit.at(-1)?.reason, "introspect.dpop_unbound");
      const asBearer = await introspect(asked, {
        authorization: `Bearer ${caller}`,
        dpop: await forIntrospect(),
      });
      assert.equal(asBearer.status, 401);
      assert.match(
        asBearer.headers.get("www-authenticate") ?? "",
        /^Bearer realm="wif-broker", error="invalid_token"/,
      );
    });

    it("a DPoP-bound token for another audience is refused as a caller (401), proof or not", async () => {
      const rs = await dpopClient();
      const res = await exchange(DEPLOY, await rs.proof());
      const token = String((await jsonOf(res)).access_token);
      const other = await introspect(token, {
        authorization: `DPoP ${token}`,
        dpop: await rs.proof({ htu: INTROSPECT_ENDPOINT, ath: accessTokenHash(token) }),
      });
      // Its audience is not the broker: refused before the scope is looked at.
      assert.equal(other.status, 401);
      assert.equal(b.audit.at(-1)?.reason, "introspect.bearer_not_for_broker");
    });
  });

  it("discovery lists dpop_signing_alg_values_supported and the lifecycle endpoints", async () => {
    const meta = await jsonOf(
      await b.broker.app.request("http://broker.test/.well-known/oauth-authorization-server"),
    );
    assert.deepEqual(meta.dpop_signing_alg_values_supported, ["ES256", "ES384", "EdDSA", "RS256", "PS256"]);
    assert.equal(meta.introspection_endpoint, `${BROKER_ISSUER}/introspect`);
    assert.equal(meta.revocation_endpoint, `${BROKER_ISSUER}/revoke`);
  });
});

describe("DPoP server nonces (RFC 9449 §8)", () => {
  let b: TestBroker;
  before(async () => {
    b = await startTestBroker({ policies: POLICIES, config: { dpop: { nonce: true } } });
  });
  after(() => b.close());

  it("a proof without the nonce → use_dpop_nonce with DPoP-Nonce; retried with it → 200 and a nonce", async () => {
    const c = await dpopClient();
    const params = {
      grant_type: TOKEN_EXCHANGE,
      subject_token: b.idp.mint(fixtureClaims("github-actions-branch")),
      subject_token_type: JWT_TYPE,
      audience: DEPLOY,
    };
    const first = await postForm(b.broker, "/token", params, { dpop: await c.proof() });
    assert.equal(first.status, 400);
    assert.equal((await jsonOf(first)).error, "use_dpop_nonce");
    const nonce = first.headers.get("dpop-nonce");
    assert.ok(nonce);
    const second = await postForm(b.broker, "/token", params, { dpop: await c.proof({ nonce }) });
    assert.equal(second.status, 200, JSON.stringify(await second.clone().json()));
    assert.ok(second.headers.get("dpop-nonce"));
  });
  it("/introspect with the DPoP scheme: no nonce → 401 use_dpop_nonce with DPoP-Nonce (§9); with it → 200", async () => {
    const c = await dpopClient();
    const params = (repositoryId: string, audience: string) => ({
      grant_type: TOKEN_EXCHANGE,
      subject_token: b.idp.mint(fixtureClaims("github-actions-branch", { repository_id: repositoryId })),
      subject_token_type: JWT_TYPE,
      audience,
    });
    const first = await postForm(b.broker, "/token", params("80", BROKER_ISSUER), { dpop: await c.proof() });
    const nonce = first.headers.get("dpop-nonce") ?? "";
    const bound = await postForm(b.broker, "/token", params("80", BROKER_ISSUER), {
      dpop: await c.proof({ nonce }),
    });
    const caller = String((await jsonOf(bound)).access_token);
    const proof = (claims: Record<string, unknown>) =>
      c.proof({ htu: INTROSPECT_ENDPOINT, ath: accessTokenHash(caller), ...claims });
    const without = await postForm(
      b.broker,
      "/introspect",
      { token: caller },
      { authorization: `DPoP ${caller}`, dpop: await proof({}) },
    );
    assert.equal(without.status, 401);
    assert.equal((await jsonOf(without)).error, "use_dpop_nonce");
    assert.match(
      without.headers.get("www-authenticate") ?? "",
      /^DPoP realm="wif-broker", error="use_dpop_nonce"/,
    );
    const fresh = without.headers.get("dpop-nonce");
    assert.ok(fresh);
    const withNonce = await postForm(
      b.broker,
      "/introspect",
      { token: caller },
      { authorization: `DPoP ${caller}`, dpop: await proof({ nonce: fresh }) },
    );
    assert.equal(withNonce.status, 200);
    assert.equal((await jsonOf(withNonce)).token_type, "DPoP");
  });
});

describe("DPoP proof replay across two instances sharing Redis (RFC 9449 §11.1)", () => {
  let redis: RedisServer;
  let idp: DemoIssuer;
  let one: TestBroker;
  let two: TestBroker;
  before(async () => {
    redis = await startRedisServer();
    idp = await DemoIssuer.start();
    const config = { store: { redis: redis.url, commandTimeout: "1s" } };
    one = await startTestBroker({ idp, policies: GITHUB_POLICY, config });
    two = await startTestBroker({ idp, policies: GITHUB_POLICY, config });
  });
  after(async () => {
    await one.close();
    await two.close();
    await idp.close();
    await redis.stop();
  });

  const params = () => ({
    grant_type: TOKEN_EXCHANGE,
    subject_token: idp.mint(fixtureClaims("github-actions-branch")),
    subject_token_type: JWT_TYPE,
    audience: DEPLOY,
  });

  it("a proof used on one instance is refused by the other", async () => {
    const c = await dpopClient();
    const proof = await c.proof();
    assert.equal((await postForm(one.broker, "/token", params(), { dpop: proof })).status, 200);
    const replay = await postForm(two.broker, "/token", params(), { dpop: proof });
    assert.equal(replay.status, 400);
    assert.equal((await jsonOf(replay)).error, "invalid_dpop_proof");
    assert.equal(two.audit.at(-1)?.reason, "dpop.replayed");
  });

  it("Redis down: /revoke of a broker JWT and a DPoP-bound exchange answer 503 with Retry-After", async () => {
    const token = String((await jsonOf(await postForm(two.broker, "/token", params()))).access_token);
    await redis.kill();
    try {
      const down = await postForm(two.broker, "/revoke", { token });
      assert.equal(down.status, 503);
      assert.ok(down.headers.get("retry-after"));
      const c = await dpopClient();
      const proofDown = await postForm(two.broker, "/token", params(), { dpop: await c.proof() });
      assert.equal(proofDown.status, 503);
    } finally {
      await redis.restart();
    }
  });
});
