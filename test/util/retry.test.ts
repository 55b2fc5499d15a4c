import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { abortable, backoffDelay, sleep, withRetry } from "../../src/util/retry.ts";

class Transient extends Error {}
class Fatal extends Error {}
const isRetryable = (e: unknown) => e instanceof Transient;
const fast = { baseDelayMs: 1, maxDelayMs: 2 };

/** An attempt function failing with `errors` in order, then returning "ok". */
function script(...errors: Error[]) {
  const calls: number[] = [];
  const fn = async (n: number) => {
    calls.push(n);
    const e = errors[calls.length - 1];
    if (e) throw e;
    return "ok";
  };
  return { fn, calls };
}

describe("withRetry", () => {
  it("returns the first success without retrying", async () => {
    const s = script();
    assert.equal(await withRetry(s.fn, { signal: AbortSignal.timeout(5000), isRetryable, ...fast }), "ok");
    assert.deepEqual(s.calls, [0]);
  });

  it("retries retryable failures and returns the later success", async () => {
    const s = script(new Transient(), new Transient());
    assert.equal(
      await withRetry(s.fn, { signal: AbortSignal.timeout(5000), isRetryable, attempts: 3, ...fast }),
      "ok",
    );
    assert.deepEqual(s.calls, [0, 1, 2]);
  });

  it("is bounded: after the last attempt the last failure is thrown", async () => {
    const last = new Transient("third");
    const s = script(new Transient(), new Transient(), last, new Transient());
    await assert.rejects(
      withRetry(s.fn, { signal: AbortSignal.timeout(5000), isRetryable, attempts: 3, ...fast }),
      (e) => e === last,
    );
    assert.equal(s.calls.length, 3);
  });

  it("never retries a failure that is not retryable", async () => {
    const fatal = new Fatal();
    const s = script(fatal);
    await assert.rejects(
      withRetry(s.fn, { signal: AbortSignal.timeout(5000), isRetryable, attempts: 5, ...fast }),
      (e) => e === fatal,
    );
    assert.equal(s.calls.length, 1);
  });

  it("stops waiting when the deadline passes and reports the upstream failure, not the abort", async () => {
    const first = new Transient("throttled");
    const s = script(first, new Transient(), new Transient());
    const started = Date.now();
    await assert.rejects(
      withRetry(s.fn, {
        signal: AbortSignal.timeout(50),
        isRetryable,
        attempts: 3,
        baseDelayMs: 60_000,
        maxDelayMs: 60_000,
        random: () => 0.99,
      }),
      (e) => e === first,
    );
    assert.ok(Date.now() - started < 2_000);
    assert.equal(s.calls.length, 1, "no attempt after the deadline");
  });

  it("makes no attempt when the deadline has already passed", async () => {
    const s = script();
    await assert.rejects(withRetry(s.fn, { signal: AbortSignal.abort(), isRetryable }), {
      name: "AbortError",
    });
    assert.equal(s.calls.length, 0);
  });

  it("refuses a nonsensical attempt count", async () => {
    await assert.rejects(
      withRetry(async () => 1, { signal: AbortSignal.timeout(5000), isRetryable, attempts: 0 }),
      TypeError,
    );
  });
});

describe("backoffDelay (full jitter)", () => {
  const policy = { attempts: 5, baseDelayMs: 100, maxDelayMs: 1000 };

  it("is random(0, min(cap, base · 2^retry))", () => {
    assert.equal(
      backoffDelay(0, policy, () => 0),
      0,
    );
    assert.equal(
      backoffDelay(0, policy, () => 0.5),
      50,
    );
    assert.equal(
      backoffDelay(1, policy, () => 0.5),
      100,
    );
    assert.equal(
      backoffDelay(2, policy, () => 0.5),
      200,
    );
    assert.equal(
      backoffDelay(10, policy, () => 0.5),
      500,
      "capped",
    );
  });

  it("stays below the ceiling for any random draw", () => {
    for (let retry = 0; retry < 8; retry++) {
      const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retry);
      for (const r of [0, 0.1, 0.5, 0.999999]) {
        const d = backoffDelay(retry, policy, () => r);
        assert.ok(d >= 0 && d < ceiling, `retry ${retry}, random ${r}: ${d}`);
      }
    }
  });

  it("spreads concurrent retries (not a fixed schedule)", () => {
    const delays = new Set(Array.from({ length: 50 }, () => backoffDelay(3, policy)));
    assert.ok(delays.size > 10);
  });
});

describe("sleep and abortable", () => {
  it("sleep resolves true after the delay, false at once on abort", async () => {
    assert.equal(await sleep(1, AbortSignal.timeout(5000)), true);
    const controller = new AbortController();
    const pending = sleep(60_000, controller.signal);
    controller.abort();
    assert.equal(await pending, false);
    assert.equal(await sleep(60_000, AbortSignal.abort()), false);
  });

  it("abortable settles with the promise, or rejects with the signal's reason", async () => {
    assert.equal(await abortable(Promise.resolve(7), AbortSignal.timeout(5000)), 7);
    await assert.rejects(abortable(Promise.reject(new Fatal("x")), AbortSignal.timeout(5000)), Fatal);
    const never = new Promise<number>(() => {});
    await assert.rejects(abortable(never, AbortSignal.timeout(20)), { name: "TimeoutError" });
    await assert.rejects(abortable(Promise.resolve(1), AbortSignal.abort()), { name: "AbortError" });
  });
});
