import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, it } from "node:test";
import type { Minter } from "../../src/mint/types.ts";
import {
  BROKER_ISSUER,
  CLIENT_ASSERTION_TYPE,
  GITHUB_POLICY,
  JWT_BEARER,
  JWT_TYPE,
  startTestBroker,
  type TestBroker,
  TOKEN_EXCHANGE,
} from "../helpers/broker.ts";
import { fixtureClaims } from "../helpers/fixtures.ts";

const DEPLOY = "https://deploy.acme.internal";

const LIMITED_POLICY = `
apiVersion: wif-broker/v1
kind: TrustPolicy
metadata: { name: limited }
spec:
  provider: github
  match: { repository_id: "99" }
  rateLimit: { requests: 1, per: 1m }
  grant: { targets: [{ audience: https://limited.internal }] }
---
apiVersion: wif-broker/v1
kind: TrustPolicy
metadata: { name: once }
spec:
  provider: github
  match: { repository_id: "98" }
  singleUse: true
  grant: { targets: [{ audience: https://once.internal, scopes: [a] }] }
---
apiVersion: wif-broker/v1
kind: TrustPolicy
metadata: { name: broken-minter }
spec:
  provider: github
  match: { repository_id: "97" }
  grant: { targets: [{ audience: arn-like-target, aws: { roleArn: "arn:aws:iam::123456789012:role/x" } }] }
`;

async function json(res: Response): Promise<Record<string, unknown>> {
  return (await res.json()) as Record<string, unknown>;
}

function assertOAuthError(res: Response, body: Record<string, unknown>, status: number, error: string) {
  assert.equal(res.status, status, `status for ${error}: ${JSON.stringify(body)}`);
  assert.equal(body.error, error);
  assert.equal(res.headers.get("cache-control"), "no-store");
  assert.equal(res.headers.get("pragma"), "no-cache");
  const requestId = res.headers.get("x-request-id");
  assert.match(requestId ?? "", /^[0-9A-HJKMNP-TV-Z]{26}$/, "request id is a ULID");
  assert.ok(
    String(body.error_description).endsWith(`(request id ${requestId})`),
    "description ends with the request id",
  );
}

describe("POST /token", () => {
  let b: TestBroker;
  const failingAws: Minter = {
    kind: "aws",
    mint: async () => {
      throw new Error("upstream exploded: secret detail arn:aws:sts::123:xyz");
    },
  };
  before(async () => {
    b = await startTestBroker({
      policies: `${GITHUB_POLICY}---\n${LIMITED_POLICY}`,
      minters: { aws: failingAws },
    });
  });
  after(() => b.close());
  const token = (overrides: Record<string, unknown> = {}) =>
    b.idp.mint(fixtureClaims("github-actions-branch", overrides));

  it("exchanges a token (RFC 8693 §2.2.1) with default scopes, no-store headers and an RFC 9068 token", async () => {
    const res = await b.exchange(token(), DEPLOY);
    const body = await json(res);
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(body.issued_token_type, "urn:ietf:params:oauth:token-type:access_token");
    assert.equal(body.token_type, "Bearer");
    assert.equal(body.expires_in, 900);
    assert.equal(body.scope, "deploy:read");
    assert.equal(res.headers.get("cache-control"), "no-store");
    assert.equal(res.headers.get("pragma"), "no-cache");
    const [h, p] = String(body.access_token).split(".");
    const header = JSON.parse(Buffer.from(h ?? "", "base64url").toString());
    const claims = JSON.parse(Buffer.from(p ?? "", "base64url").toString());
    assert.equal(header.typ, "at+jwt");
    assert.equal(header.alg, "ES256");
    assert.equal(claims.iss, BROKER_ISSUER);
    assert.equal(claims.sub, "github:octo-org/octo-repo");
    assert.equal(claims.aud, DEPLOY);
    assert.equal(claims.client_id, "octo-deploy");
    assert.equal(claims.repo, "octo-org/octo-repo");
    assert.equal(claims.exp - claims.iat, 900);
  });

  it("grants requested scopes that the target allows", async () => {
    const body = await json(await b.exchange(token(), DEPLOY, { scope: "deploy:write deploy:read" }));
    assert.equal(body.scope, "deploy:write deploy:read");
  });

  it("omits scope when the token carries none", async () => {
    const body = await json(await b.exchange(token(), "https://noscope.acme.internal"));
    assert.equal(body.scope, undefined);
    assert.ok(body.access_token);
  });

  it("ignores whitespace around the token (a token file's trailing newline)", async () => {
    const res = await b.exchange(`\n ${token()}\n`, DEPLOY);
    assert.equal(res.status, 200);
  });

  it("accepts the jwt-bearer grant (RFC 7523 §2.1)", async () => {
    const res = await b.post({ grant_type: JWT_BEARER, assertion: token(), audience: DEPLOY });
    assert.equal(res.status, 200);
  });

  it("accepts a federated client assertion (RFC 7523 §2.2), honouring client_id", async () => {
    const base = {
      grant_type: "client_credentials",
      client_assertion_type: CLIENT_ASSERTION_TYPE,
      audience: DEPLOY,
    };
    assert.equal((await b.post({ ...base, client_assertion: token() })).status, 200);
    assert.equal(
      (await b.post({ ...base, client_assertion: token(), client_id: "octo-deploy" })).status,
      200,
    );
    const res = await b.post({ ...base, client_assertion: token(), client_id: "someone-else" });
    assertOAuthError(res, await json(res), 401, "invalid_client");
  });

  describe("bad subject token: the error follows the grant (CONTRACT §2 table)", () => {
    const cases = [
      {
        name: "token-exchange",
        status: 400,
        error: "invalid_request",
        params: (t: string) => ({
          grant_type: TOKEN_EXCHANGE,
          subject_token: t,
          subject_token_type: JWT_TYPE,
        }),
      },
      {
        name: "jwt-bearer",
        status: 400,
        error: "invalid_grant",
        params: (t: string) => ({ grant_type: JWT_BEARER, assertion: t }),
      },
      {
        name: "client assertion",
        status: 401,
        error: "invalid_client",
        params: (t: string) => ({
          grant_type: "client_credentials",
          client_assertion_type: CLIENT_ASSERTION_TYPE,
          client_assertion: t,
        }),
      },
    ];
    for (const c of cases) {
      it(`${c.name}: an invalid token → ${c.status} ${c.error}`, async () => {
        const res = await b.post({ ...c.params(`${token()}x`), audience: DEPLOY });
        assertOAuthError(res, await json(res), c.status, c.error);
      });
      it(`${c.name}: a token admitted by no policy → ${c.status} ${c.error}`, async () => {
        const res = await b.post({ ...c.params(token({ repository_id: "75" })), audience: DEPLOY });
        assertOAuthError(res, await json(res), c.status, c.error);
      });
    }
  });

  describe("malformed requests → 400 invalid_request", () => {
    const cases: Array<[string, () => Record<string, string | string[]>]> = [
      [
        "missing grant_type",
        () => ({ subject_token: token(), subject_token_type: JWT_TYPE, audience: DEPLOY }),
      ],
      [
        "missing subject_token",
        () => ({ grant_type: TOKEN_EXCHANGE, subject_token_type: JWT_TYPE, audience: DEPLOY }),
      ],
      [
        "missing subject_token_type",
        () => ({ grant_type: TOKEN_EXCHANGE, subject_token: token(), audience: DEPLOY }),
      ],
      [
        "unsupported subject_token_type",
        () => ({
          grant_type: TOKEN_EXCHANGE,
          subject_token: token(),
          subject_token_type: "urn:ietf:params:oauth:token-type:saml2",
          audience: DEPLOY,
        }),
      ],
      [
        "repeated audience",
        () => ({
          grant_type: TOKEN_EXCHANGE,
          subject_token: token(),
          subject_token_type: JWT_TYPE,
          audience: [DEPLOY, DEPLOY],
        }),
      ],
      [
        "repeated grant_type",
        () => ({
          grant_type: [TOKEN_EXCHANGE, TOKEN_EXCHANGE],
          subject_token: token(),
          subject_token_type: JWT_TYPE,
          audience: DEPLOY,
        }),
      ],
      [
        "actor_token for a policy without actors (CONTRACT §9)",
        () => ({
          grant_type: TOKEN_EXCHANGE,
          subject_token: token(),
          subject_token_type: JWT_TYPE,
          audience: DEPLOY,
          actor_token: token(),
          actor_token_type: JWT_TYPE,
        }),
      ],
      [
        "no audience or resource",
        () => ({ grant_type: TOKEN_EXCHANGE, subject_token: token(), subject_token_type: JWT_TYPE }),
      ],
      [
        "unsupported requested_token_type",
        () => ({
          grant_type: TOKEN_EXCHANGE,
          subject_token: token(),
          subject_token_type: JWT_TYPE,
          audience: DEPLOY,
          requested_token_type: "urn:ietf:params:oauth:token-type:saml1",
        }),
      ],
    ];
    for (const [name, params] of cases) {
      it(name, async () => {
        const res = await b.post(params());
        assertOAuthError(res, await json(res), 400, "invalid_request");
      });
    }
    it("wrong content type", async () => {
      const res = await b.post(
        {},
        { contentType: "application/json", body: JSON.stringify({ grant_type: TOKEN_EXCHANGE }) },
      );
      assertOAuthError(res, await json(res), 400, "invalid_request");
    });
    it("a subject token over 16 KiB", async () => {
      const res = await b.exchange(`${"a".repeat(17 * 1024)}.b.c`, DEPLOY);
      assertOAuthError(res, await json(res), 400, "invalid_request");
    });
  });

  it("unknown grant type → 400 unsupported_grant_type", async () => {
    const res = await b.post({ grant_type: "password", username: "u", password: "p" });
    assertOAuthError(res, await json(res), 400, "unsupported_grant_type");
  });

  it("admitted identity, target not granted → 400 invalid_target", async () => {
    const res = await b.exchange(token(), "https://elsewhere.internal");
    assertOAuthError(res, await json(res), 400, "invalid_target");
  });

  it("several distinct targets (audience + resource) → 400 invalid_target", async () => {
    const res = await b.exchange(token(), DEPLOY, { resource: "https://other.internal/" });
    assertOAuthError(res, await json(res), 400, "invalid_target");
  });

  it("a resource that is not an absolute URI → 400 invalid_target (RFC 8707 §2)", async () => {
    for (const resource of ["deploy", "https://deploy.acme.internal/#frag"]) {
      const res = await b.post({
        grant_type: TOKEN_EXCHANGE,
        subject_token: token(),
        subject_token_type: JWT_TYPE,
        resource,
      });
      assertOAuthError(res, await json(res), 400, "invalid_target");
    }
  });

  it("names the target by RFC 8707 resource alone", async () => {
    const res = await b.post({
      grant_type: TOKEN_EXCHANGE,
      subject_token: token(),
      subject_token_type: JWT_TYPE,
      resource: DEPLOY,
    });
    assert.equal(res.status, 200);
  });

  it("scope outside the target → 400 invalid_scope", async () => {
    const res = await b.exchange(token(), DEPLOY, { scope: "deploy:read admin" });
    assertOAuthError(res, await json(res), 400, "invalid_scope");
  });

  it("rate limited → 429 temporarily_unavailable with Retry-After", async () => {
    const t = () => token({ repository_id: "99" });
    assert.equal((await b.exchange(t(), "https://limited.internal")).status, 200);
    const res = await b.exchange(t(), "https://limited.internal");
    assertOAuthError(res, await json(res), 429, "temporarily_unavailable");
    assert.ok(Number(res.headers.get("retry-after")) >= 1);
  });

  it("single-use: a jti is accepted once, and a failed exchange does not consume it", async () => {
    const t = token({ repository_id: "98" });
    const failed = await b.exchange(t, "https://once.internal", { scope: "not-allowed" });
    assert.equal(failed.status, 400);
    assert.equal((await b.exchange(t, "https://once.internal")).status, 200);
    const replay = await b.exchange(t, "https://once.internal");
    assertOAuthError(replay, await json(replay), 400, "invalid_request");
  });

  it("an unexpected failure → 500 server_error without the upstream message", async () => {
    const res = await b.exchange(token({ repository_id: "97" }), "arn-like-target");
    const body = await json(res);
    assertOAuthError(res, body, 500, "server_error");
    assert.doesNotMatch(JSON.stringify(body), /exploded|arn:aws|secret/);
  });

  it("body over 64 KiB → 413; other methods → 405", async () => {
    const big = await b.post({}, { body: `grant_type=${"x".repeat(70 * 1024)}` });
    assert.equal(big.status, 413);
    // Without Content-Length (chunked), the body is counted as it streams.
    const chunk = new TextEncoder().encode("x".repeat(8 * 1024));
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 10; i++) controller.enqueue(chunk);
        controller.close();
      },
    });
    const chunked = await fetch(`${b.url}/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: stream,
      duplex: "half",
    } as RequestInit);
    assert.equal(chunked.status, 413);
    for (const method of ["GET", "PUT", "DELETE"]) {
      const res = await fetch(`${b.url}/token`, { method });
      assert.equal(res.status, 405, method);
      assert.equal(res.headers.get("allow"), "POST");
    }
  });

  it("never echoes claims in error_description", async () => {
    const res = await b.exchange(token({ repository_id: "secret-repo-id-123" }), DEPLOY);
    const body = await json(res);
    assert.doesNotMatch(String(body.error_description), /secret-repo-id-123|octo-org/);
  });

  it("writes one audit event per request with the token's SHA-256, never the token", async () => {
    const before = b.audit.length;
    const t = token();
    const res = await b.exchange(t, DEPLOY);
    assert.equal(b.audit.length, before + 1);
    const e = b.audit.at(-1);
    assert.ok(e);
    assert.equal(e.request_id, res.headers.get("x-request-id"));
    assert.equal(e.decision, "allow");
    assert.equal(e.policy, "octo-deploy");
    assert.equal(e.provider, "github");
    assert.equal(e.sub, "repo:octo-org/octo-repo:ref:refs/heads/main");
    assert.equal(e.audience, DEPLOY);
    assert.deepEqual(e.scopes, ["deploy:read"]);
    assert.equal(e.lifetime, 900);
    assert.ok(e.jti);
    assert.equal(e.subject_token_sha256, createHash("sha256").update(t).digest("hex"));
    assert.ok(!JSON.stringify(e).includes(t.split(".")[2] ?? "x"));
  });

  it("audits denials with the decision trace under the response's request id", async () => {
    const res = await b.exchange(token({ ref: "refs/tags/v1" }), DEPLOY);
    const e = b.audit.at(-1);
    assert.equal(e?.request_id, res.headers.get("x-request-id"));
    assert.equal(e?.decision, "deny");
    assert.equal(e?.reason, "policy.no_match");
    const failed = e?.trace?.[0]?.checks.find((c) => !c.ok);
    assert.equal(failed?.check, "match.ref");
  });
});

describe("errors.verbose", () => {
  it("adds the first failing check to the description, still without claim values", async () => {
    const b = await startTestBroker({ policies: GITHUB_POLICY, config: { errors: { verbose: true } } });
    try {
      const res = await b.exchange(
        b.idp.mint(fixtureClaims("github-actions-branch", { ref: "refs/tags/v9.9.9" })),
        DEPLOY,
      );
      const body = await json(res);
      assert.match(String(body.error_description), /match\.ref/);
      assert.doesNotMatch(String(body.error_description), /v9\.9\.9/);
    } finally {
      await b.close();
    }
  });
});

describe("audit of failed verification", () => {
  it("names the configured provider and issuer the token claims, never an unknown issuer's text", async () => {
    const b = await startTestBroker({ policies: GITHUB_POLICY });
    try {
      const expired = b.idp.mint(fixtureClaims("github-actions-branch", { exp: 1 }));
      await b.exchange(expired, DEPLOY);
      const e = b.audit.at(-1);
      assert.equal(e?.reason, "jwt.expired");
      assert.equal(e?.provider, "github");
      assert.equal(e?.iss, b.idp.url);
      assert.equal(e?.sub, undefined, "an unverified sub is not recorded");
      await b.exchange(
        b.idp.mint(fixtureClaims("github-actions-branch", { iss: "https://evil.example/<script>" })),
        DEPLOY,
      );
      const u = b.audit.at(-1);
      assert.equal(u?.reason, "jwt.unknown_issuer");
      assert.equal(u?.provider, undefined);
      assert.equal(u?.iss, undefined);
      assert.match(
        await (await fetch(`${b.url}/metrics`)).text(),
        /wif_broker_exchanges_total\{result="invalid_request",provider="github",policy="none",target="none"\} 1/,
      );
    } finally {
      await b.close();
    }
  });
});
