/**
 * One table of behaviour every Store must show, run against memory (frozen clock) and Redis (real time, real
 * server, two clients) so the two stay equivalent. Not a test file itself: memory.test.ts and redis.test.ts
 * call `storeContract`.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { BrokerError } from "../../src/errors.ts";
import type { Store } from "../../src/store/types.ts";

export interface ContractSubject {
  /**
   * Two handles on one shared state: two clients ("two broker instances") for Redis, the same store twice for
   * memory (which by design shares nothing across processes).
   */
  a: Store;
  b: Store;
  kind: "memory" | "redis";
  /** Epoch ms as the store sees it. */
  now(): number;
  /** Let `ms` pass: advance a frozen clock, or sleep. */
  pass(ms: number): Promise<void>;
  /** Rate-limit window for these tests: anything for a frozen clock, short for real time. */
  windowSeconds: number;
  close(): Promise<void>;
}

export function storeContract(name: string, setup: () => Promise<ContractSubject>): void {
  describe(`Store contract: ${name}`, () => {
    let s: ContractSubject;
    before(async () => {
      s = await setup();
    });
    after(async () => {
      await s?.close();
    });
    /** Fresh keys per test, so tests (and concurrent runs against a shared server) never meet. */
    const k = (label: string): string => `${randomUUID()}:${label}`;
    const inSeconds = (seconds: number): number => Math.floor(s.now() / 1000) + seconds;

    it("reports its kind and a healthy status", () => {
      assert.equal(s.a.status().kind, s.kind);
      assert.equal(s.a.status().ok, true, s.a.status().detail);
    });

    it("consume: true once, then false, on either instance", async () => {
      const key = k("jti");
      assert.equal(await s.a.replay.consume(key, inSeconds(60)), true);
      assert.equal(await s.a.replay.consume(key, inSeconds(60)), false);
      assert.equal(await s.b.replay.consume(key, inSeconds(60)), false);
    });

    it("seen: false until consumed, true after, on either instance; seeing does not consume", async () => {
      const key = k("jti");
      assert.equal(await s.a.replay.seen(key), false);
      assert.equal(await s.b.replay.seen(key), false);
      assert.equal(await s.b.replay.consume(key, inSeconds(60)), true);
      assert.equal(await s.a.replay.seen(key), true);
      assert.equal(await s.b.replay.seen(key), true);
    });

    it("keys are exact: no folding, no structure, any content", async () => {
      const base = k("x");
      const keys = [
        base,
        base.toUpperCase(),
        `${base} `,
        `${base}\r\nSET x 1`,
        `${base}*`,
        `${base}{tag}`,
        `${base}:replay:`,
        `${base}é`,
        `${base}e\u0301`,
        `${base}${"z".repeat(20_000)}`,
      ];
      for (const key of keys)
        assert.equal(await s.a.replay.consume(key, inSeconds(60)), true, JSON.stringify(key));
      for (const key of keys) assert.equal(await s.b.replay.seen(key), true);
      assert.equal(await s.a.replay.seen(`${base}\r\n`), false);
    });

    it("a consumed key expires at expiresAt (epoch seconds), then may be consumed again", async () => {
      const key = k("jti");
      const expiresAt = inSeconds(2);
      assert.equal(await s.a.replay.consume(key, expiresAt), true);
      assert.equal(await s.b.replay.seen(key), true);
      await s.pass(expiresAt * 1000 - s.now() + 50);
      assert.equal(await s.a.replay.seen(key), false);
      assert.equal(await s.b.replay.consume(key, inSeconds(60)), true);
      assert.equal(await s.a.replay.consume(key, inSeconds(60)), false);
    });

    it("consume with an expiresAt already past succeeds and records nothing", async () => {
      const key = k("old");
      assert.equal(await s.a.replay.consume(key, inSeconds(-5)), true);
      assert.equal(await s.b.replay.seen(key), false);
    });

    it("concurrency: 50 parallel consumes of one key across two instances → exactly one true", async () => {
      const key = k("race");
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) => (i % 2 ? s.a : s.b).replay.consume(key, inSeconds(60))),
      );
      assert.equal(results.filter(Boolean).length, 1);
    });

    it("rate limit: allows `limit`, refuses the next with retryAfter, allows again after the window", async () => {
      const key = k("sub");
      const limit = 3;
      for (let i = 0; i < limit; i++) {
        assert.deepEqual(await (i % 2 ? s.a : s.b).rateLimiter.hit(key, limit, s.windowSeconds), {
          allowed: true,
          retryAfter: 0,
        });
      }
      const refused = await s.a.rateLimiter.hit(key, limit, s.windowSeconds);
      assert.equal(refused.allowed, false);
      // GCRA: the next request conforms one emission interval (window / limit) later.
      assert.equal(refused.retryAfter, Math.ceil(s.windowSeconds / limit));
      assert.equal(
        (await s.b.rateLimiter.hit(key, limit, s.windowSeconds)).allowed,
        false,
        "shared by instances",
      );
      await s.pass(s.windowSeconds * 1000 + 50);
      for (let i = 0; i < limit; i++) {
        assert.equal(
          (await s.b.rateLimiter.hit(key, limit, s.windowSeconds)).allowed,
          true,
          `after window #${i}`,
        );
      }
      assert.equal((await s.a.rateLimiter.hit(key, limit, s.windowSeconds)).allowed, false);
    });

    it("rate limit: refills one request per emission interval (GCRA), not all at once", async () => {
      const key = k("sub");
      const limit = 3;
      const intervalMs = (s.windowSeconds * 1000) / limit;
      for (let i = 0; i < limit; i++) await s.a.rateLimiter.hit(key, limit, s.windowSeconds);
      assert.equal((await s.a.rateLimiter.hit(key, limit, s.windowSeconds)).allowed, false);
      await s.pass(intervalMs + 20);
      assert.equal((await s.b.rateLimiter.hit(key, limit, s.windowSeconds)).allowed, true);
      assert.equal((await s.a.rateLimiter.hit(key, limit, s.windowSeconds)).allowed, false);
    });

    it("rate limit: bursts of exactly `limit` for limits that do not divide the window", async () => {
      for (const limit of [1, 7, 120]) {
        const key = k(`sub${limit}`);
        const results = [];
        // A long window, so real time cannot refill a request while the burst runs.
        for (let i = 0; i <= limit; i++) results.push(await s.a.rateLimiter.hit(key, limit, 600));
        assert.equal(results.filter((r) => r.allowed).length, limit, `limit ${limit}`);
        assert.equal(results.at(-1)?.allowed, false);
      }
    });

    it("rate limit: keys and limits are independent", async () => {
      const one = k("one");
      const two = k("two");
      assert.equal((await s.a.rateLimiter.hit(one, 1, s.windowSeconds)).allowed, true);
      assert.equal((await s.a.rateLimiter.hit(one, 1, s.windowSeconds)).allowed, false);
      assert.equal((await s.b.rateLimiter.hit(two, 1, s.windowSeconds)).allowed, true);
      assert.equal((await s.b.rateLimiter.hit(one.toUpperCase(), 1, s.windowSeconds)).allowed, true);
    });

    it("concurrency: 30 parallel hits with limit 10 across two instances → exactly 10 allowed", async () => {
      const key = k("burst");
      const results = await Promise.all(
        Array.from({ length: 30 }, (_, i) => (i % 2 ? s.a : s.b).rateLimiter.hit(key, 10, 60)),
      );
      assert.equal(results.filter((r) => r.allowed).length, 10);
      for (const r of results) {
        assert.ok(
          r.allowed ? r.retryAfter === 0 : r.retryAfter >= 1 && r.retryAfter <= 60,
          JSON.stringify(r),
        );
      }
    });

    it("programmer mistakes are TypeErrors, not store failures", async () => {
      for (const [limit, window] of [
        [0, 60],
        [1.5, 60],
        [Number.NaN, 60],
        [5, 0],
        [5, -1],
        [5, Number.POSITIVE_INFINITY],
      ] as const) {
        await assert.rejects(
          async () => s.a.rateLimiter.hit(k("bad"), limit, window),
          (e) => e instanceof TypeError && !(e instanceof BrokerError),
          `${limit}/${window}`,
        );
      }
      for (const expiresAt of [Number.NaN, 0, -1, Number.POSITIVE_INFINITY]) {
        await assert.rejects(async () => s.a.replay.consume(k("bad"), expiresAt), TypeError);
      }
    });
  });
}
