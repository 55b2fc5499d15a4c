import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import { BrokerError, badToken } from "../../../src/errors.ts";
import { fakeApp, fakeExchanger, ISSUED, postToken } from "../../helpers/app.ts";

const TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJodHRwczovL2lkcCJ9.c2ln";
const EXCHANGE = {
  grant_type: "urn:ietf:params:oauth:grant-type:token-exchange",
  subject_token: TOKEN,
  subject_token_type: "urn:ietf:params:oauth:token-type:jwt",
  audience: "https://deploy.acme.internal",
};
const errorOf = async (res: Response) => ((await res.json()) as { error: string }).error;
const PROVIDER = { name: "github", issuer: "https://idp" };

describe("POST /token in-process (createApp(fakes).request())", () => {
  it("happy: RFC 8693 §2.2.1 body, no-store headers, one audit event and one metric", async () => {
    const exchange = fakeExchanger({ ok: true, issued: ISSUED, provider: PROVIDER });
    const { app, audit, metrics } = fakeApp({ exchange });
    const res = await postToken(app, { ...EXCHANGE, scope: "deploy:read" });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), {
      access_token: ISSUED.accessToken,
      issued_token_type: ISSUED.issuedTokenType,
      token_type: "Bearer",
      expires_in: 900,
      scope: "deploy:read",
    });
    assert.equal(res.headers.get("cache-control"), "no-store");
    assert.equal(res.headers.get("pragma"), "no-cache");
    assert.equal(res.headers.get("x-request-id"), "req-1");
    assert.deepEqual(exchange.seen[0], {
      grantType: EXCHANGE.grant_type,
      subjectToken: TOKEN,
      audience: EXCHANGE.audience,
      scopes: ["deploy:read"],
      requestedTokenType: undefined,
      clientId: undefined,
      sourceIp: undefined,
    });
    assert.equal(audit.length, 1);
    assert.equal(audit[0]?.decision, "allow");
    assert.equal(audit[0]?.reason, "granted");
    assert.equal(audit[0]?.provider, "github");
    assert.equal(audit[0]?.jti, "jti-1");
    assert.match(
      await metrics.registry.metrics(),
      /wif_broker_exchanges_total\{result="allow",provider="github",policy="none",target="https:\/\/deploy\.acme\.internal"\} 1/,
    );
  });

  it("error: a bad token maps per grant through the one mapper, with the provider the verifier reported", async () => {
    const exchange = fakeExchanger({
      ok: false,
      error: badToken("jwt.expired", "token has expired"),
      provider: PROVIDER,
    });
    const { app, audit } = fakeApp({ exchange });
    const exchanged = await postToken(app, EXCHANGE);
    assert.equal(exchanged.status, 400);
    assert.equal(await errorOf(exchanged), "invalid_request");
    const bearer = await postToken(app, {
      grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer",
      assertion: TOKEN,
      audience: EXCHANGE.audience,
    });
    assert.equal(bearer.status, 400);
    assert.equal(await errorOf(bearer), "invalid_grant");
    assert.deepEqual(
      audit.map((e) => [e.decision, e.reason, e.error, e.provider, e.iss]),
      [
        ["deny", "jwt.expired", "bad_subject_token", "github", "https://idp"],
        ["deny", "jwt.expired", "bad_subject_token", "github", "https://idp"],
      ],
    );
  });

  it("error: rate limited → 429 and an unavailable upstream → 503, both with Retry-After", async () => {
    const limited = fakeApp({
      exchange: fakeExchanger({
        ok: false,
        error: new BrokerError("rate_limited", { reason: "policy.rate_limited", retryAfter: 7 }),
      }),
    });
    const r429 = await postToken(limited.app, EXCHANGE);
    assert.equal(r429.status, 429);
    assert.equal(r429.headers.get("retry-after"), "7");
    assert.equal(await errorOf(r429), "temporarily_unavailable");
    const down = fakeApp({
      exchange: fakeExchanger({
        ok: false,
        error: new BrokerError("unavailable", { reason: "store.unavailable" }),
      }),
    });
    const r503 = await postToken(down.app, EXCHANGE);
    assert.equal(r503.status, 503);
    assert.equal(r503.headers.get("retry-after"), "1");
    assert.equal(down.audit[0]?.decision, "error");
  });

  it("error: a body over 64 KiB → 413 through the error mapper; the exchange is never asked", async () => {
    const exchange = fakeExchanger();
    const { app, audit } = fakeApp({ exchange });
    const res = await postToken(app, {}, { body: `subject_token=${"a".repeat(64 * 1024)}` });
    assert.equal(res.status, 413);
    assert.deepEqual(await res.json(), {
      error: "invalid_request",
      error_description: "request body exceeds 64 KiB (request id req-1)",
    });
    assert.equal(res.headers.get("cache-control"), "no-store");
    assert.equal(exchange.seen.length, 0);
    assert.equal(audit[0]?.reason, "request.too_large");
    assert.equal(audit[0]?.status, 413);
  });

  it("error: missing parameters and other methods are refused before any exchange", async () => {
    const exchange = fakeExchanger();
    const { app } = fakeApp({ exchange });
    const missing = await postToken(app, { grant_type: EXCHANGE.grant_type });
    assert.equal(missing.status, 400);
    assert.equal(await errorOf(missing), "invalid_request");
    const unknown = await postToken(app, { grant_type: "password" });
    assert.equal(await errorOf(unknown), "unsupported_grant_type");
    const get = await app.request("/token");
    assert.equal(get.status, 405);
    assert.equal(get.headers.get("allow"), "POST");
    assert.equal(exchange.seen.length, 0);
  });

  it("security: a JSON body is refused (RFC 6749 §4.1.3 form only), never parsed", async () => {
    const exchange = fakeExchanger();
    const { app } = fakeApp({ exchange });
    const res = await postToken(app, {}, { contentType: "application/json", body: JSON.stringify(EXCHANGE) });
    assert.equal(res.status, 400);
    assert.equal(exchange.seen.length, 0);
  });

  it("security: an unexpected failure is a generic 500; neither the token nor the message reaches a client, audit or log", async () => {
    const secret = `leaked ${TOKEN}`;
    const { app, audit, logs } = fakeApp({
      exchange: fakeExchanger({ ok: false, error: new Error(secret) }),
    });
    const res = await postToken(app, EXCHANGE);
    assert.equal(res.status, 500);
    const body = JSON.stringify(await res.json());
    assert.equal(body.includes(TOKEN), false);
    assert.equal(body.includes("leaked"), false);
    assert.equal(audit[0]?.reason, "internal");
    assert.equal(audit[0]?.decision, "error");
    assert.equal(audit[0]?.subject_token_sha256, createHash("sha256").update(TOKEN).digest("hex"));
    assert.equal(JSON.stringify(audit).includes(TOKEN), false);
    assert.equal(logs.join("\n").includes(TOKEN), false);
    assert.equal(logs.length, 1);
  });

  it("security: X-Forwarded-For is ignored without trusted proxies (no socket here: no source address at all)", async () => {
    const exchange = fakeExchanger();
    const { app } = fakeApp({ exchange });
    await app.request("/token", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", "x-forwarded-for": "10.0.0.1" },
      body: new URLSearchParams(EXCHANGE).toString(),
    });
    assert.equal(exchange.seen[0]?.sourceIp, undefined);
  });
});
