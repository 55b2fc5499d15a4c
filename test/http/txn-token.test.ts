import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { DemoIssuer } from "../../src/dev/demo-issuer.ts";
import {
  BROKER_ISSUER,
  GITHUB_POLICY,
  JWT_TYPE,
  startTestBroker,
  type TestBroker,
  TOKEN_EXCHANGE,
} from "../helpers/broker.ts";
import { decodeJwt, jsonOf, postForm } from "../helpers/in-process.ts";
import { brokerAsProvider } from "../helpers/self-provider.ts";

const TXN = "urn:ietf:params:oauth:token-type:txn_token";
const DOMAIN = "trust-domain.acme.internal";

const POLICIES = `${GITHUB_POLICY}---
apiVersion: wif-broker/v1
kind: TrustPolicy
metadata: { name: api-gateway }
spec:
  provider: gateway
  match: { client_id: gw-1 }
  grant:
    subject: "{{claims.sub}}"
    claims: { tenant: "{{claims.tenant}}" }
    targets:
      - audience: ${DOMAIN}
        txnToken: true
        scopes: [trade.stocks, trade.read, admin]
        defaultScopes: [trade.read]
      - audience: https://plain.acme.internal
        scopes: [trade.read]
`;

describe("Transaction Tokens (draft-ietf-oauth-transaction-tokens-10, CONTRACT §9)", () => {
  let b: TestBroker;
  let gateway: DemoIssuer;
  before(async () => {
    gateway = await DemoIssuer.start();
    b = await startTestBroker({
      policies: POLICIES,
      providers: [{ name: "gateway", issuer: gateway.url, allowInsecureHttp: true }],
    });
  });
  after(async () => {
    await b.close();
    await gateway.close();
  });

  const subject = (claims: Record<string, unknown> = {}) =>
    gateway.mint({
      sub: "user-7",
      aud: BROKER_ISSUER,
      client_id: "gw-1",
      tenant: "t-9",
      scope: "trade.stocks trade.read",
      ...claims,
    });
  const request = (extra: Record<string, string>, claims?: Record<string, unknown>) =>
    postForm(b.broker, "/token", {
      grant_type: TOKEN_EXCHANGE,
      subject_token: subject(claims),
      subject_token_type: JWT_TYPE,
      audience: DOMAIN,
      requested_token_type: TXN,
      ...extra,
    });

  it("issues a txntoken+jwt with txn, sub, aud, scope, req_wl, rctx, tctx and a 5 minute lifetime", async () => {
    const res = await request({
      scope: "trade.stocks",
      request_context: JSON.stringify({ authn: "face", req_ip: "6.6.6.6" }),
      request_details: JSON.stringify({ action: "BUY", ticker: "MSFT", tenant: "forged" }),
    });
    const body = await jsonOf(res);
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(body.issued_token_type, TXN);
    assert.equal(body.token_type, "N_A");
    assert.equal(body.refresh_token, undefined);
    const { header, claims } = decodeJwt(body.access_token);
    assert.equal(header.typ, "txntoken+jwt");
    assert.equal(claims.sub, "user-7");
    assert.equal(claims.aud, DOMAIN);
    assert.equal(claims.scope, "trade.stocks");
    assert.equal(claims.req_wl, "api-gateway");
    assert.match(String(claims.txn), /^[0-9a-f-]{36}$/);
    assert.equal(Number(claims.exp) - Number(claims.iat), 300);
    // The broker is authoritative: the client cannot assert the source address or override policy claims.
    assert.deepEqual(claims.rctx, { authn: "face" });
    assert.deepEqual(claims.tctx, { action: "BUY", ticker: "MSFT", tenant: "t-9" });
  });

  it("rctx.req_ip is the source address the broker saw", async () => {
    const res = await b.post({
      grant_type: TOKEN_EXCHANGE,
      subject_token: subject(),
      subject_token_type: JWT_TYPE,
      audience: DOMAIN,
      requested_token_type: TXN,
      request_context: JSON.stringify({ req_ip: "6.6.6.6" }),
    });
    const body = await jsonOf(res);
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.deepEqual(decodeJwt(body.access_token).claims.rctx, { req_ip: "127.0.0.1" });
  });

  it("narrows to the subject token's scope when none is requested; never widens it", async () => {
    const body = await jsonOf(await request({}));
    assert.equal(decodeJwt(body.access_token).claims.scope, "trade.read");
    const wider = await request({ scope: "admin" });
    assert.equal(wider.status, 400);
    assert.equal((await jsonOf(wider)).error, "invalid_scope");
    const noOverlap = await request({}, { scope: "other" });
    assert.equal(noOverlap.status, 400);
  });

  it("a Txn-Token requested from a plain target, or an access token from a trust domain → invalid_request", async () => {
    const plain = await request({ audience: "https://plain.acme.internal" });
    assert.equal(plain.status, 400);
    assert.equal((await jsonOf(plain)).error, "invalid_request");
    assert.equal(b.audit.at(-1)?.reason, "policy.token_type_not_issued");
    const access = await postForm(b.broker, "/token", {
      grant_type: TOKEN_EXCHANGE,
      subject_token: subject(),
      subject_token_type: JWT_TYPE,
      audience: DOMAIN,
    });
    assert.equal(access.status, 400);
  });

  for (const [name, value] of [
    ["not JSON", "{nope"],
    ["an array", "[1,2]"],
    ["a string", '"x"'],
    ["over 4 KiB", JSON.stringify({ pad: "x".repeat(4100) })],
  ] as const) {
    it(`request_context / request_details that is ${name} → 400 invalid_request`, async () => {
      for (const param of ["request_context", "request_details"]) {
        const res = await request({ [param]: value });
        assert.equal(res.status, 400, param);
        assert.equal((await jsonOf(res)).error, "invalid_request");
        // Over 4 KiB is refused by the form's parameter bound before the JSON is read.
        const reason = name === "over 4 KiB" ? "request.parameter_too_long" : `request.${param}`;
        assert.equal(b.audit.at(-1)?.reason, reason);
      }
    });
  }

  it("request_context and request_details of just under 4 KiB each are accepted", async () => {
    const big = JSON.stringify({ pad: "x".repeat(4000) });
    const res = await request({ request_context: big, request_details: big });
    assert.equal(res.status, 200, JSON.stringify(await res.clone().json()));
  });

  it("request_context without requested_token_type txn_token → 400", async () => {
    const res = await postForm(b.broker, "/token", {
      grant_type: TOKEN_EXCHANGE,
      subject_token: subject(),
      subject_token_type: JWT_TYPE,
      audience: "https://plain.acme.internal",
      request_context: "{}",
    });
    assert.equal(res.status, 400);
    assert.equal(b.audit.at(-1)?.reason, "request.transaction_parameters");
  });
});

/**
 * A Txn-Token presented back (draft-ietf-oauth-transaction-tokens §13.15 "Txn-Token as a subject_token"): the current
 * draft defines no replacement flow, and §13.12 forbids a Txn-Token as an authentication credential — at the broker
 * the subject or actor token is what authenticates the requester — so neither is accepted (README deviation 19).
 */
describe("a Txn-Token is never exchanged again: no replacement, not as subject, not as actor (§13.12, §13.15)", () => {
  let b: TestBroker;
  let gateway: DemoIssuer;
  before(async () => {
    gateway = await DemoIssuer.start();
    const self = brokerAsProvider([DOMAIN]);
    b = self.attach(
      await startTestBroker({
        policies: `${POLICIES}---
apiVersion: wif-broker/v1
kind: TrustPolicy
metadata: { name: replace-txn }
spec:
  provider: broker
  match: { req_wl: api-gateway }
  actors:
    - provider: gateway
      match: { client_id: gw-1 }
  grant:
    subject: "{{claims.sub}}"
    targets:
      - audience: ${DOMAIN}
        txnToken: true
        scopes: [trade.read]
        defaultScopes: [trade.read]
      - audience: https://plain.acme.internal
        scopes: [trade.read]
`,
        // The broker trusts its own tokens (a Txn-Token's aud is the trust domain).
        providers: [{ name: "gateway", issuer: gateway.url, allowInsecureHttp: true }, self.provider],
        fetchImpl: self.fetchImpl,
      }),
    );
  });
  after(async () => {
    await b.close();
    await gateway.close();
  });

  const gatewayToken = () =>
    gateway.mint({
      sub: "user-7",
      aud: BROKER_ISSUER,
      client_id: "gw-1",
      tenant: "t-9",
      scope: "trade.read",
    });
  async function txnToken(): Promise<string> {
    const res = await postForm(b.broker, "/token", {
      grant_type: TOKEN_EXCHANGE,
      subject_token: gatewayToken(),
      subject_token_type: JWT_TYPE,
      audience: DOMAIN,
      requested_token_type: TXN,
    });
    const body = await jsonOf(res);
    assert.equal(res.status, 200, JSON.stringify(body));
    return String(body.access_token);
  }

  it("refuses a Txn-Token as subject_token, for a replacement Txn-Token and for an access token", async () => {
    for (const [audience, requested] of [
      [DOMAIN, TXN],
      ["https://plain.acme.internal", undefined],
    ] as const) {
      const res = await postForm(b.broker, "/token", {
        grant_type: TOKEN_EXCHANGE,
        subject_token: await txnToken(),
        subject_token_type: JWT_TYPE,
        audience,
        ...(requested ? { requested_token_type: requested } : {}),
      });
      const body = await jsonOf(res);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(body.error, "invalid_request");
      assert.equal(b.audit.at(-1)?.reason, "jwt.txn_token_as_subject");
    }
  });

  it("refuses a Txn-Token as actor_token", async () => {
    const res = await postForm(b.broker, "/token", {
      grant_type: TOKEN_EXCHANGE,
      subject_token: gatewayToken(),
      subject_token_type: JWT_TYPE,
      actor_token: await txnToken(),
      actor_token_type: JWT_TYPE,
      audience: "https://plain.acme.internal",
    });
    assert.equal(res.status, 400);
    assert.equal((await jsonOf(res)).error, "invalid_request");
    assert.equal(b.audit.at(-1)?.reason, "actor.jwt.txn_token_as_subject");
  });
});
