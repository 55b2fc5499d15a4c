/**
 * Issuer (IdP) faults seen through HTTP: the JWKS endpoint going down, key rotation, an unknown-kid flood and a
 * cold start against a dead issuer. `idp.requests` counts every discovery/JWKS fetch the broker makes.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, it } from "node:test";
import { DEFAULT_KEY_CACHE_POLICY, type KeyCachePolicy } from "../../src/identity/jwks.ts";
import { GITHUB_POLICY, startTestBroker, type TestBroker } from "../helpers/broker.ts";
import { fixtureClaims } from "../helpers/fixtures.ts";

const DEPLOY = "https://deploy.acme.internal";
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** GitHub Actions claims the GITHUB_POLICY admits; the issuer fills in a fresh jti and the times. */
const { jti: _jti, ...CLAIMS } = fixtureClaims("github-actions-branch");

interface Answer {
  status: number;
  error: unknown;
  retryAfter: string | null;
}

async function exchange(t: TestBroker, token: string): Promise<Answer> {
  const res = await t.exchange(token, DEPLOY);
  const body = (await res.json()) as Record<string, unknown>;
  return { status: res.status, error: body.error, retryAfter: res.headers.get("retry-after") };
}

/** Runs `fn` over `items` with at most `concurrency` in flight (keeps the socket count modest on CI). */
async function pool<T, R>(items: T[], concurrency: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i] as T);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return out;
}

async function jwksFetches(t: TestBroker, result: "ok" | "error"): Promise<number> {
  const text = await (await fetch(`${t.url}/metrics`)).text();
  const line = text
    .split("\n")
    .find((l) => l.startsWith(`wif_broker_jwks_fetches_total{provider="github",result="${result}"}`));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(" ") + 1));
}

async function withBroker(keyCachePolicy: KeyCachePolicy | undefined, fn: (t: TestBroker) => Promise<void>) {
  const t = await startTestBroker({ policies: GITHUB_POLICY, ...(keyCachePolicy ? { keyCachePolicy } : {}) });
  try {
    await fn(t);
  } finally {
    await t.close();
  }
}

describe("JWKS faults through HTTP", () => {
  it("the JWKS endpoint down after the cache is primed: cached keys keep serving, fresh and then stale", async () => {
    // Fresh for 200 ms only, so the outage is also met by a (failing) background revalidation of stale keys.
    await withBroker({ ...DEFAULT_KEY_CACHE_POLICY, freshMs: 200 }, async (t) => {
      assert.equal((await exchange(t, t.idp.mint(CLAIMS))).status, 200);
      assert.deepEqual(t.idp.requests, ["/.well-known/openid-configuration", "/jwks"]);

      t.idp.setDown(true);
      for (let i = 0; i < 5; i++)
        assert.equal((await exchange(t, t.idp.mint(CLAIMS))).status, 200, "fresh keys");
      await sleep(250);
      const answers = await Promise.all(Array.from({ length: 20 }, () => exchange(t, t.idp.mint(CLAIMS))));
      assert.deepEqual(
        answers.map((a) => a.status),
        new Array(20).fill(200),
        "stale keys serve while the endpoint fails",
      );
      await sleep(50);
      for (let i = 0; i < 5; i++) assert.equal((await exchange(t, t.idp.mint(CLAIMS))).status, 200, "still");

      const attempts = t.idp.requests.length - 2;
      assert.ok(attempts >= 1, "the stale cache was revalidated, and the issuer really was down");
      assert.ok(attempts <= 2, `one revalidation, then back-off: ${attempts} attempts for 30 requests`);
      assert.ok((await jwksFetches(t, "error")) >= 1);
      const ready = (await (await fetch(`${t.url}/readyz`)).json()) as {
        components: { providers: { jwks: { github: { state: string; lastError?: string } } } };
      };
      assert.equal(ready.components.providers.jwks.github.state, "stale");
      assert.match(ready.components.providers.jwks.github.lastError ?? "", /503/);
    });
  });

  it("key rotation (new kid, old kid dropped): the new key is accepted after one refetch, the old one refused", async () => {
    await withBroker(undefined, async (t) => {
      assert.equal((await exchange(t, t.idp.mint(CLAIMS))).status, 200);
      const old = t.idp.currentKey;
      const oldKey = { privateKey: old.privateKey, alg: old.alg, kid: old.kid };
      const before = t.idp.requests.length;

      const newKid = t.idp.rotate(true);
      assert.notEqual(newKid, old.kid);
      const first = await exchange(t, t.idp.mint(CLAIMS));
      assert.equal(first.status, 200, JSON.stringify(first));
      const refetch = t.idp.requests.slice(before);
      assert.ok(refetch.length >= 1 && refetch.length <= 2, `one refetch: ${JSON.stringify(refetch)}`);
      assert.equal(refetch.at(-1), "/jwks");

      const more = await Promise.all(Array.from({ length: 10 }, () => exchange(t, t.idp.mint(CLAIMS))));
      assert.ok(more.every((a) => a.status === 200));
      // The dropped key no longer verifies, and asking about it again fetches nothing (one refetch per 30 s).
      const stale = await exchange(t, t.idp.mint(CLAIMS, { key: oldKey }));
      assert.equal(stale.status, 400);
      assert.equal(stale.error, "invalid_request");
      assert.equal(t.idp.requests.length, before + refetch.length, "no fetch beyond the one refetch");
    });
  });

  it("key rotation under concurrent load: requests racing the one refetch wait for it and are accepted", async () => {
    await withBroker(undefined, async (t) => {
      assert.equal((await exchange(t, t.idp.mint(CLAIMS))).status, 200);
      const before = t.idp.requests.length;
      t.idp.rotate(true);
      const answers = await Promise.all(Array.from({ length: 50 }, () => exchange(t, t.idp.mint(CLAIMS))));
      const statuses = answers.map((a) => a.status);
      assert.deepEqual(
        statuses,
        new Array(50).fill(200),
        `new-key tokens sent during the refetch: ${statuses}`,
      );
      assert.ok(t.idp.requests.length - before <= 2, "still one refetch");
    });
  });

  it("an unknown-kid flood (500 concurrent, random kids) causes at most one refetch; all 400, none 5xx", async () => {
    await withBroker(undefined, async (t) => {
      assert.equal((await exchange(t, t.idp.mint(CLAIMS))).status, 200);
      const before = t.idp.requests.length;
      const tokens = Array.from({ length: 500 }, () => t.idp.mint(CLAIMS, { header: { kid: randomUUID() } }));
      const answers = await pool(tokens, 50, (token) => exchange(t, token));
      const statuses = new Map<number, number>();
      for (const a of answers) statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
      assert.deepEqual([...statuses], [[400, 500]], "every unknown kid is a bad token, never a 5xx");
      assert.ok(answers.every((a) => a.error === "invalid_request"));
      const fetched = t.idp.requests.length - before;
      assert.ok(fetched <= 2, `at most one refetch (discovery + JWKS), saw ${fetched} requests`);

      // A second wave inside the 30 s window fetches nothing at all; real tokens are unaffected.
      const again = await pool(tokens.slice(0, 100), 50, (token) => exchange(t, token));
      assert.ok(again.every((a) => a.status === 400));
      assert.equal(t.idp.requests.length - before, fetched);
      assert.equal((await exchange(t, t.idp.mint(CLAIMS))).status, 200);
    });
  });

  it("the issuer down with nothing cached: 503 + Retry-After, one fetch for a burst; served once it is back", async () => {
    await withBroker({ ...DEFAULT_KEY_CACHE_POLICY, failureBackoffMs: 300 }, async (t) => {
      t.idp.setDown(true);
      const answers = await Promise.all(Array.from({ length: 20 }, () => exchange(t, t.idp.mint(CLAIMS))));
      for (const a of answers) {
        assert.equal(a.status, 503, JSON.stringify(a));
        assert.equal(a.error, "temporarily_unavailable");
        assert.match(a.retryAfter ?? "", /^[1-9]\d*$/);
      }
      assert.ok(
        t.idp.requests.length <= 2,
        `single-flight: ${t.idp.requests.length} fetches for 20 requests`,
      );
      const during = t.idp.requests.length;
      assert.equal((await exchange(t, t.idp.mint(CLAIMS))).status, 503);
      assert.equal(t.idp.requests.length, during, "no new attempt inside the failure back-off");

      t.idp.setDown(false);
      await sleep(350);
      assert.equal((await exchange(t, t.idp.mint(CLAIMS))).status, 200, "recovers after the back-off");
    });
  });

  it("the issuer down with nothing cached, default cache policy: 503, with Retry-After covering the back-off", async () => {
    await withBroker(undefined, async (t) => {
      t.idp.setDown(true);
      const a = await exchange(t, t.idp.mint(CLAIMS));
      assert.equal(a.status, 503);
      assert.equal(a.error, "temporarily_unavailable");
      assert.equal(Number(a.retryAfter), DEFAULT_KEY_CACHE_POLICY.failureBackoffMs / 1000);
      const ready = await fetch(`${t.url}/readyz`);
      const body = (await ready.json()) as {
        components: { providers: { jwks: { github: { state: string } } } };
      };
      assert.equal(body.components.providers.jwks.github.state, "failing");
    });
  });
});
