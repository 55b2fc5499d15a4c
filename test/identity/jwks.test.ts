import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { DemoIssuer } from "../../src/dev/demo-issuer.ts";
import { BrokerError } from "../../src/errors.ts";
import { DEFAULT_FETCH_LIMITS, FetchError, fetchJson } from "../../src/identity/fetch.ts";
import { ProviderKeySource } from "../../src/identity/jwks.ts";

const MIN = 60_000;

function source(idp: DemoIssuer, clock: () => number, jwksUri?: string) {
  return new ProviderKeySource({
    name: "p",
    issuer: idp.url,
    jwksUri,
    limits: { ...DEFAULT_FETCH_LIMITS, allowInsecureHttp: true, timeoutMs: 1000 },
    clock,
  });
}

describe("discovery + JWKS cache", () => {
  let idp: DemoIssuer;
  let now = 1_800_000_000_000;
  const clock = () => now;
  before(async () => {
    idp = await DemoIssuer.start();
  });
  after(() => idp.close());

  it("discovers the JWKS once, then serves fresh keys without fetching for 10 minutes", async () => {
    idp.requests.length = 0;
    const s = source(idp, clock);
    const kid = idp.currentKey.kid;
    assert.equal((await s.keysFor(kid, "RS256")).length, 1);
    assert.deepEqual(idp.requests, ["/.well-known/openid-configuration", "/jwks"]);
    now += 9 * MIN;
    await s.keysFor(kid, "RS256");
    assert.equal(idp.requests.length, 2);
    assert.equal(s.status().state, "fresh");
  });

  it("single-flights concurrent first fetches", async () => {
    idp.requests.length = 0;
    const s = source(idp, clock);
    await Promise.all(Array.from({ length: 20 }, () => s.keysFor(idp.currentKey.kid, "RS256")));
    assert.equal(idp.requests.length, 2);
  });

  it("refetches at most once per 30 s for unknown kids, picking up an issuer's rotation", async () => {
    const s = source(idp, clock);
    await s.keysFor(idp.currentKey.kid, "RS256");
    idp.requests.length = 0;
    const flood = Array.from({ length: 50 }, (_, i) =>
      s.keysFor(`unknown-${i}`, "RS256").catch((e: unknown) => e),
    );
    const results = await Promise.all(flood);
    assert.ok(results.every((e) => e instanceof BrokerError && e.reason === "jwt.unknown_key"));
    assert.ok(idp.requests.length <= 2, `bounded refetch, saw ${idp.requests.length}`);
    const newKid = idp.rotate();
    await assert.rejects(s.keysFor(newKid, "RS256"), /unknown_key/);
    now += 31_000;
    assert.equal((await s.keysFor(newKid, "RS256")).length, 1, "rotation picked up after the interval");
  });

  it("serves stale keys while the issuer is down, up to 6 h, then fails as unavailable", async () => {
    const s = source(idp, clock);
    const kid = idp.currentKey.kid;
    await s.keysFor(kid, "RS256");
    idp.setDown(true);
    try {
      now += 11 * MIN;
      assert.equal((await s.keysFor(kid, "RS256")).length, 1, "stale keys still verify");
      await new Promise((r) => setTimeout(r, 50)); // background revalidation fails
      assert.equal(s.status().state, "stale");
      assert.ok(s.status().lastError);
      now += 6 * 60 * MIN;
      await assert.rejects(
        s.keysFor(kid, "RS256"),
        (e: unknown) => e instanceof BrokerError && e.kind === "unavailable" && (e.retryAfter ?? 0) > 0,
      );
    } finally {
      idp.setDown(false);
    }
  });

  it("backs off after a failed fetch instead of retrying on every request", async () => {
    idp.setDown(true);
    try {
      const s = source(idp, clock);
      idp.requests.length = 0;
      await assert.rejects(
        s.keysFor("k", "RS256"),
        (e: unknown) => e instanceof BrokerError && e.kind === "unavailable",
      );
      const after1 = idp.requests.length;
      await assert.rejects(s.keysFor("k", "RS256"));
      assert.equal(idp.requests.length, after1, "no new request within the backoff");
    } finally {
      idp.setDown(false);
    }
  });

  it("refuses a discovery document whose issuer differs", async () => {
    const s = new ProviderKeySource({
      name: "p",
      issuer: `${idp.url}/other`,
      jwksUri: undefined,
      limits: { ...DEFAULT_FETCH_LIMITS, allowInsecureHttp: true },
      clock,
    });
    await assert.rejects(
      s.keysFor("k", "RS256"),
      (e: unknown) => e instanceof BrokerError && e.kind === "unavailable",
    );
    assert.match(s.status().lastError ?? "", /HTTP 404|issuer/);
  });

  it("requires https unless allowInsecureHttp, without sending a request", async () => {
    idp.requests.length = 0;
    const s = new ProviderKeySource({
      name: "p",
      issuer: idp.url,
      jwksUri: undefined,
      limits: DEFAULT_FETCH_LIMITS,
      clock,
    });
    await assert.rejects(s.keysFor("k", "RS256"));
    assert.equal(idp.requests.length, 0);
    assert.match(s.status().lastError ?? "", /refusing http/);
  });
});

describe("bounded fetch", () => {
  let url = "";
  const server = createServer((req, res) => {
    if (req.url === "/big") res.writeHead(200).end("x".repeat(600 * 1024));
    else if (req.url === "/away") res.writeHead(302, { location: "http://127.0.0.2:1/jwks" }).end();
    else if (req.url === "/here") res.writeHead(302, { location: "/ok" }).end();
    else if (req.url === "/ok") res.writeHead(200).end('{"keys":[]}');
    else if (req.url === "/slow") setTimeout(() => res.writeHead(200).end("{}"), 2000);
    else res.writeHead(404).end();
  });
  before(async () => {
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });
  const limits = { ...DEFAULT_FETCH_LIMITS, allowInsecureHttp: true, timeoutMs: 500 };

  it("caps the response size", async () => {
    await assert.rejects(
      fetchJson(`${url}/big`, limits),
      (e: unknown) => e instanceof FetchError && /too large/.test(e.message),
    );
  });
  it("follows same-origin redirects only", async () => {
    assert.deepEqual(await fetchJson(`${url}/here`, limits), { keys: [] });
    await assert.rejects(fetchJson(`${url}/away`, limits), /another origin/);
  });
  it("times out", async () => {
    await assert.rejects(fetchJson(`${url}/slow`, limits), /timed out/);
  });
});
