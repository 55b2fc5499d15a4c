import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { BrokerError } from "../../src/errors.ts";
import { createMemoryStore, gcra } from "../../src/store/memory.ts";
import { storeContract } from "./contract.ts";

const T0 = 1_700_000_000_000;

function frozen(start = T0): { clock: () => number; advance: (ms: number) => void } {
  let t = start;
  return {
    clock: () => t,
    advance: (ms) => {
      t += Math.max(0, ms);
    },
  };
}

storeContract("memory", async () => {
  const time = frozen();
  const store = createMemoryStore({ clock: time.clock });
  return {
    a: store,
    b: store,
    kind: "memory",
    now: time.clock,
    pass: async (ms) => time.advance(ms),
    windowSeconds: 60,
    close: () => store.close(),
  };
});

const isUnavailable = (e: unknown): boolean =>
  e instanceof BrokerError &&
  e.kind === "unavailable" &&
  e.reason === "store.unavailable" &&
  e.retryAfter === 1;

describe("memory store: bounds", () => {
  it("replay: a table full of live entries fails closed and forgets nothing; expired entries go first", async () => {
    const time = frozen();
    const store = createMemoryStore({ clock: time.clock, maxEntries: 3 });
    const s = T0 / 1000;
    assert.equal(await store.replay.consume("a", s + 10), true);
    assert.equal(await store.replay.consume("b", s + 20), true);
    assert.equal(await store.replay.consume("c", s + 30), true);
    await assert.rejects(store.replay.consume("d", s + 30), isUnavailable);
    assert.equal(store.status().ok, false);
    assert.match(store.status().detail ?? "", /replay 3\/3/);
    // The consumed jtis are all still refused: nothing was evicted to make room.
    for (const key of ["a", "b", "c"]) assert.equal(await store.replay.consume(key, s + 30), false);
    assert.equal(await store.replay.seen("d"), false);

    time.advance(10_000); // "a" expires
    assert.equal(await store.replay.consume("d", s + 40), true);
    assert.equal(await store.replay.seen("a"), false);
    await assert.rejects(store.replay.consume("a", s + 40), isUnavailable);
    assert.equal(await store.replay.seen("b"), true);
  });

  it("rate limit: a full table refuses new keys (503), keeps limiting known ones, frees after a window", async () => {
    const time = frozen();
    const store = createMemoryStore({ clock: time.clock, maxEntries: 2 });
    assert.equal((await store.rateLimiter.hit("k1", 1, 60)).allowed, true);
    assert.equal((await store.rateLimiter.hit("k2", 1, 60)).allowed, true);
    await assert.rejects(store.rateLimiter.hit("k3", 1, 60), isUnavailable);
    assert.deepEqual(await store.rateLimiter.hit("k1", 1, 60), { allowed: false, retryAfter: 60 });
    time.advance(60_000);
    assert.equal((await store.rateLimiter.hit("k3", 1, 60)).allowed, true);
    assert.equal(store.status().ok, true);
  });

  it("rejects a bad maxEntries", () => {
    for (const maxEntries of [0, -1, 1.5, Number.NaN]) {
      assert.throws(() => createMemoryStore({ maxEntries }), TypeError);
    }
  });

  it("after close, operations fail with unavailable and status is not ok", async () => {
    const store = createMemoryStore();
    assert.equal(await store.replay.consume("x", Date.now() / 1000 + 60), true);
    await store.close();
    await assert.rejects(store.replay.seen("x"), isUnavailable);
    await assert.rejects(store.replay.consume("x", Date.now() / 1000 + 60), isUnavailable);
    await assert.rejects(store.rateLimiter.hit("x", 1, 1), isUnavailable);
    assert.equal(store.status().ok, false);
  });
});

describe("memory store: replay set agrees with a naive model", () => {
  type Op =
    | { op: "consume"; key: number; ttl: number }
    | { op: "seen"; key: number }
    | { op: "wait"; ms: number };

  async function check(ops: Op[], maxEntries: number): Promise<void> {
    const time = frozen();
    const store = createMemoryStore({ clock: time.clock, maxEntries });
    const model = new Map<string, number>(); // key → deadline ms; live while deadline > now
    const live = (key: string): boolean => (model.get(key) ?? 0) > time.clock();
    for (const [i, o] of ops.entries()) {
      if (o.op === "wait") {
        time.advance(o.ms);
        continue;
      }
      const key = `k${o.key}`;
      if (o.op === "seen") {
        assert.equal(await store.replay.seen(key), live(key), `op ${i}`);
        continue;
      }
      const expiresAt = Math.floor(time.clock() / 1000) + o.ttl;
      const liveCount = [...model.keys()].filter(live).length;
      if (live(key)) {
        assert.equal(await store.replay.consume(key, expiresAt), false, `op ${i}`);
      } else if (expiresAt * 1000 <= time.clock()) {
        assert.equal(await store.replay.consume(key, expiresAt), true, `op ${i}`);
      } else if (liveCount >= maxEntries) {
        await assert.rejects(store.replay.consume(key, expiresAt), isUnavailable, `op ${i}`);
      } else {
        assert.equal(await store.replay.consume(key, expiresAt), true, `op ${i}`);
        model.set(key, expiresAt * 1000);
      }
    }
  }

  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ op: fc.constant("consume" as const), key: fc.nat(7), ttl: fc.integer({ min: -1, max: 5 }) }),
    fc.record({ op: fc.constant("seen" as const), key: fc.nat(7) }),
    fc.record({ op: fc.constant("wait" as const), ms: fc.nat(3000) }),
  );

  it("short random histories (fast-check)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 60 }), fc.integer({ min: 1, max: 5 }), check),
      { numRuns: 300 },
    );
  });

  it("a long history (heap compaction and purge paths)", async () => {
    const ops = fc.sample(fc.array(op, { minLength: 20_000, maxLength: 20_000 }), {
      numRuns: 1,
      seed: 42,
    })[0];
    assert.ok(ops);
    await check(ops, 6);
  });
});

describe("memory store: rate-limit table agrees with gcra() over a plain map", () => {
  it("a long random history (many updates of live keys: heap compaction)", async () => {
    const time = frozen();
    const store = createMemoryStore({ clock: time.clock, maxEntries: 10 });
    const model = new Map<string, number>();
    const limits = [
      [5000, 100],
      [3, 2],
      [50, 1],
    ] as const;
    const ops = fc.sample(
      fc.array(fc.tuple(fc.nat(2), fc.nat(4)), { minLength: 30_000, maxLength: 30_000 }),
      { numRuns: 1, seed: 7 },
    )[0];
    assert.ok(ops);
    for (const [i, [which, waitMs]] of ops.entries()) {
      time.advance(waitMs);
      const [limit, windowS] = limits[which] ?? [1, 1];
      const key = `k${which}`;
      const now = time.clock() * 1000;
      const stored = model.get(key);
      const expected = gcra(
        stored !== undefined && stored > now ? stored : undefined,
        now,
        limit,
        windowS * 1e6,
      );
      if (expected.allowed) model.set(key, expected.newTat);
      const got = await store.rateLimiter.hit(key, limit, windowS);
      assert.deepEqual(got, expected.allowed ? { allowed: true, retryAfter: 0 } : expected, `op ${i}`);
    }
    time.advance(100_000);
    assert.match(store.status().detail ?? "", /rate-limit 0\//);
  });
});

describe("memory store: GCRA", () => {
  it("sustains limit/window after the burst: 600 s of continuous demand at 60/min → 60 + 600 allowed", async () => {
    const time = frozen();
    const store = createMemoryStore({ clock: time.clock });
    const allowedAt: number[] = [];
    for (let t = 0; t < 600_000; t += 100) {
      if ((await store.rateLimiter.hit("k", 60, 60)).allowed) allowedAt.push(t);
      time.advance(100);
    }
    assert.ok(Math.abs(allowedAt.length - 660) <= 1, `${allowedAt.length}`);
    // Token-bucket bound: no 60 s span holds more than 2 × limit.
    for (let i = 0, j = 0; i < allowedAt.length; i++) {
      while ((allowedAt[i] ?? 0) - (allowedAt[j] ?? 0) >= 60_000) j++;
      assert.ok(i - j + 1 <= 120);
    }
  });

  it("retryAfter counts whole seconds up to the next conforming request; nothing conforms early", () => {
    const now = T0 * 1000; // µs
    let tat: number | undefined;
    for (let i = 0; i < 4; i++) {
      const r = gcra(tat, now, 4, 10e6);
      assert.equal(r.allowed, true);
      if (r.allowed) tat = r.newTat;
    }
    assert.deepEqual(gcra(tat, now, 4, 10e6), { allowed: false, retryAfter: 3 }); // 2.5 s → 3
    assert.deepEqual(gcra(tat, now + 2_400_000, 4, 10e6), { allowed: false, retryAfter: 1 }); // 0.1 s → 1
    assert.deepEqual(gcra(tat, now + 2_499_999, 4, 10e6), { allowed: false, retryAfter: 1 });
    assert.equal(gcra(tat, now + 2_500_000, 4, 10e6).allowed, true);

    const first = gcra(undefined, now, 1, 60e6);
    assert.ok(first.allowed);
    assert.deepEqual(gcra(first.newTat, now + 30e6, 1, 60e6), { allowed: false, retryAfter: 30 });
    assert.deepEqual(gcra(first.newTat, now + 60e6 - 1, 1, 60e6), { allowed: false, retryAfter: 1 });
    assert.equal(gcra(first.newTat, now + 60e6, 1, 60e6).allowed, true);
  });

  it("bursts exactly `limit` whatever the ratio of window to limit", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 500 }), fc.integer({ min: 1, max: 3600 }), (limit, windowS) => {
        let tat: number | undefined;
        let allowed = 0;
        for (let i = 0; i <= limit; i++) {
          const r = gcra(tat, T0 * 1000, limit, windowS * 1e6);
          if (r.allowed) {
            allowed++;
            tat = r.newTat;
          }
        }
        return allowed === limit;
      }),
    );
  });

  it("keeps an idle key's state no longer than needed (bucket full again = entry gone)", async () => {
    const time = frozen();
    const store = createMemoryStore({ clock: time.clock });
    await store.rateLimiter.hit("k", 10, 1);
    assert.match(store.status().detail ?? "", /rate-limit 1\//);
    time.advance(100);
    assert.match(store.status().detail ?? "", /rate-limit 0\//);
  });
});
