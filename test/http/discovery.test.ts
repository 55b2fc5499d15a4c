import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createRemoteJWKSet, jwtVerify } from "jose";
import * as oauth from "oauth4webapi";
import {
  BROKER_ISSUER,
  GITHUB_POLICY,
  JWT_TYPE,
  startTestBroker,
  type TestBroker,
  TOKEN_EXCHANGE,
} from "../helpers/broker.ts";
import { fixtureClaims } from "../helpers/fixtures.ts";

describe("discovery, keys and strict clients", () => {
  let b: TestBroker;
  before(async () => {
    b = await startTestBroker({ policies: GITHUB_POLICY });
  });
  after(() => b.close());

  /** The issuer is https://broker.example.com; route its URLs to the loopback broker. */
  const loopbackFetch = (url: string | URL | Request, init?: RequestInit) =>
    fetch(String(url instanceof Request ? url.url : url).replace(BROKER_ISSUER, b.url), init);

  for (const path of ["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"]) {
    it(`oauth4webapi accepts ${path} (RFC 8414 / OIDC Discovery)`, async () => {
      const res = await fetch(`${b.url}${path}`);
      assert.equal(res.headers.get("cache-control"), "no-store");
      const as = await oauth.processDiscoveryResponse(new URL(BROKER_ISSUER), res);
      assert.equal(as.issuer, BROKER_ISSUER);
      assert.equal(as.token_endpoint, `${BROKER_ISSUER}/token`);
      assert.equal(as.jwks_uri, `${BROKER_ISSUER}/jwks`);
      assert.deepEqual(as.grant_types_supported, [
        TOKEN_EXCHANGE,
        "urn:ietf:params:oauth:grant-type:jwt-bearer",
        "client_credentials",
      ]);
      assert.deepEqual(as.scopes_supported, ["deploy:read", "deploy:write"]);
      assert.ok(as.token_endpoint_auth_methods_supported?.includes("private_key_jwt"));
    });
  }

  it("the OpenID document carries what cloud IAM needs to trust the broker's JWTs", async () => {
    const doc = (await (await fetch(`${b.url}/.well-known/openid-configuration`)).json()) as Record<
      string,
      unknown
    >;
    assert.deepEqual(doc.id_token_signing_alg_values_supported, ["ES256"]);
    assert.deepEqual(doc.subject_types_supported, ["public"]);
    assert.ok(Array.isArray(doc.response_types_supported));
    const claims = doc.claims_supported as string[];
    for (const c of ["sub", "aud", "client_id", "repo", "sha", "https://aws.amazon.com/tags"])
      assert.ok(claims.includes(c), c);
  });

  it("/jwks publishes public keys only", async () => {
    const jwks = (await (await fetch(`${b.url}/jwks`)).json()) as { keys: Array<Record<string, unknown>> };
    assert.equal(jwks.keys.length, 1);
    const [key] = jwks.keys;
    assert.equal(key?.kty, "EC");
    assert.equal(key?.use, "sig");
    assert.equal(key?.alg, "ES256");
    assert.ok(key?.kid);
    assert.equal(key?.d, undefined, "no private member");
  });

  it("oauth4webapi processes the token response, and jose verifies the token against /jwks (RFC 9068)", async () => {
    const as = await oauth.processDiscoveryResponse(
      new URL(BROKER_ISSUER),
      await fetch(`${b.url}/.well-known/oauth-authorization-server`),
    );
    const client: oauth.Client = { client_id: "ci" };
    const subjectToken = b.idp.mint(fixtureClaims("github-actions-branch"));
    const response = await oauth.genericTokenEndpointRequest(
      as,
      client,
      oauth.None(),
      TOKEN_EXCHANGE,
      {
        subject_token: subjectToken,
        subject_token_type: JWT_TYPE,
        audience: "https://deploy.acme.internal",
        scope: "deploy:write",
      },
      { [oauth.customFetch]: loopbackFetch },
    );
    const tokens = await oauth.processGenericTokenEndpointResponse(as, client, response);
    assert.equal(tokens.token_type, "bearer");
    assert.equal(tokens.scope, "deploy:write");
    assert.equal(tokens.expires_in, 900);

    const jwks = createRemoteJWKSet(new URL(`${b.url}/jwks`));
    const { payload, protectedHeader } = await jwtVerify(tokens.access_token, jwks, {
      issuer: BROKER_ISSUER,
      audience: "https://deploy.acme.internal",
      typ: "at+jwt",
      algorithms: ["ES256"],
    });
    assert.equal(protectedHeader.typ, "at+jwt");
    assert.equal(payload.client_id, "octo-deploy");
    assert.equal(payload.scope, "deploy:write");
    assert.equal(typeof payload.jti, "string");
    assert.equal(payload.nbf, payload.iat);
  });

  it("issues a unique jti per token", async () => {
    const t = () =>
      b
        .exchange(b.idp.mint(fixtureClaims("github-actions-branch")), "https://deploy.acme.internal")
        .then((r) => r.json()) as Promise<{ access_token: string }>;
    const ids = new Set<string>();
    for (const r of await Promise.all([t(), t(), t(), t()])) {
      ids.add(JSON.parse(Buffer.from(r.access_token.split(".")[1] ?? "", "base64url").toString()).jti);
    }
    assert.equal(ids.size, 4);
  });
});

describe("operations endpoints", () => {
  let b: TestBroker;
  before(async () => {
    b = await startTestBroker({ policies: GITHUB_POLICY });
  });
  after(() => b.close());

  it("/healthz answers 200", async () => {
    const res = await fetch(`${b.url}/healthz`);
    assert.equal(res.status, 200);
  });

  it("/readyz lists every component and answers 200 when loaded", async () => {
    const res = await fetch(`${b.url}/readyz`);
    const body = (await res.json()) as {
      status: string;
      components: Record<string, Record<string, unknown>>;
    };
    assert.equal(res.status, 200);
    assert.equal(body.status, "ready");
    assert.equal(body.components.policies?.policies, 1);
    assert.equal(body.components.store?.kind, "memory");
    assert.ok(body.components.signingKeys?.active);
    assert.equal(
      (body.components.providers?.jwks as Record<string, { state: string }> | undefined)?.github?.state,
      "never_fetched",
    );
  });

  it("/metrics exposes Prometheus text with exchange counters and latency", async () => {
    await b.exchange(b.idp.mint(fixtureClaims("github-actions-branch")), "https://deploy.acme.internal");
    await b.exchange("not-a-token", "https://deploy.acme.internal");
    const res = await fetch(`${b.url}/metrics`);
    assert.match(res.headers.get("content-type") ?? "", /text\/plain/);
    const text = await res.text();
    assert.match(
      text,
      /wif_broker_exchanges_total\{result="allow",provider="github",policy="octo-deploy",target="https:\/\/deploy\.acme\.internal"\} 1/,
    );
    assert.match(
      text,
      /wif_broker_exchanges_total\{result="invalid_request",provider="none",policy="none",target="none"\} 1/,
    );
    assert.match(text, /wif_broker_exchange_duration_seconds_bucket/);
    assert.match(text, /wif_broker_jwks_fetches_total\{provider="github",result="ok"\} 1/);
    assert.match(text, /wif_broker_policy_reloads_total\{result="ok"\} 1/);
  });

  it("a refused scope or audience is counted under the policy that admitted the identity", async () => {
    const token = () => b.idp.mint(fixtureClaims("github-actions-branch"));
    assert.equal((await b.exchange(token(), "https://deploy.acme.internal", { scope: "admin" })).status, 400);
    assert.equal((await b.exchange(token(), "https://elsewhere.internal")).status, 400);
    assert.equal(
      (await b.exchange(b.idp.mint(fixtureClaims("github-actions-branch", { repository_id: "1" })), "x"))
        .status,
      400,
    );
    const text = await (await fetch(`${b.url}/metrics`)).text();
    assert.match(
      text,
      /wif_broker_exchanges_total\{result="invalid_scope",provider="github",policy="octo-deploy",target="none"\} 1/,
    );
    assert.match(
      text,
      /wif_broker_exchanges_total\{result="invalid_target",provider="github",policy="octo-deploy",target="none"\} 1/,
    );
    // Admitted by no policy: no policy to name.
    assert.match(
      text,
      /wif_broker_exchanges_total\{result="invalid_request",provider="github",policy="none",target="none"\} 1/,
    );
    assert.doesNotMatch(text, /admin|elsewhere/, "label values never come from the request");
  });

  it("unknown paths → 404 JSON; other methods on GET endpoints → 405", async () => {
    assert.equal((await fetch(`${b.url}/nope`)).status, 404);
    const res = await fetch(`${b.url}/jwks`, { method: "POST" });
    assert.equal(res.status, 405);
    assert.equal(res.headers.get("allow"), "GET, HEAD");
  });
});

describe("an upstream that is unavailable", () => {
  it("JWKS unreachable with nothing cached → 503 temporarily_unavailable with Retry-After", async () => {
    const b = await startTestBroker({ policies: GITHUB_POLICY });
    try {
      b.idp.setDown(true);
      const res = await b.exchange(
        b.idp.mint(fixtureClaims("github-actions-branch")),
        "https://deploy.acme.internal",
      );
      const body = (await res.json()) as Record<string, unknown>;
      assert.equal(res.status, 503);
      assert.equal(body.error, "temporarily_unavailable");
      assert.ok(Number(res.headers.get("retry-after")) > 0);
      const ready = (await (await fetch(`${b.url}/readyz`)).json()) as {
        components: { providers: { jwks: { github: { state: string } } } };
      };
      assert.equal(ready.components.providers.jwks.github.state, "failing");
    } finally {
      await b.close();
    }
  });
});
