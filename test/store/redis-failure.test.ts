/**
 * Redis outages against a private redis-server that these tests kill, pause and restart: the store fails
 * closed and fast, says so in status(), recovers by itself, and never shows a password.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, describe, it } from "node:test";
import { inspect } from "node:util";
import { BrokerError } from "../../src/errors.ts";
import type { RedisStore, RedisStoreErrorEvent } from "../../src/store/redis.ts";
import { createRedisStore } from "../../src/store/redis.ts";
import type { RedisServer } from "../helpers/redis-server.ts";
import { freePort, startRedisServer } from "../helpers/redis-server.ts";

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const inAMinute = (): number => Math.floor(Date.now() / 1000) + 60;

const unavailable = (e: unknown): boolean =>
  e instanceof BrokerError &&
  e.kind === "unavailable" &&
  e.reason === "store.unavailable" &&
  e.retryAfter === 1;

/** Every operation rejects with unavailable, each in well under a second. */
async function assertFailsFast(store: RedisStore): Promise<void> {
  const ops = [
    () => store.replay.seen(randomUUID()),
    () => store.replay.consume(randomUUID(), inAMinute()),
    () => store.rateLimiter.hit(randomUUID(), 5, 60),
  ];
  for (let round = 0; round < 3; round++) {
    for (const op of ops) {
      const t = performance.now();
      await assert.rejects(op(), unavailable);
      const ms = performance.now() - t;
      assert.ok(ms < 1000, `took ${ms.toFixed(0)} ms`);
    }
  }
}

/** Retries `consume` until it succeeds: recovery happens inside the same store object. */
async function waitForRecovery(store: RedisStore, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await store.replay.consume(randomUUID(), inAMinute());
      return;
    } catch (err) {
      assert.ok(unavailable(err), String(err));
      if (Date.now() > deadline)
        throw new Error(`no recovery within ${timeoutMs} ms: ${store.status().detail}`);
      await sleep(50);
    }
  }
}

describe("redis store: outages", () => {
  const cleanup: Array<() => Promise<void>> = [];
  after(async () => {
    for (const fn of cleanup.reverse()) await fn();
  });
  const track = (store: RedisStore, server?: RedisServer): RedisStore => {
    cleanup.push(() => store.close());
    if (server) cleanup.push(() => server.stop());
    return store;
  };

  it("server killed: fails closed in < 1 s, status not ok; restarted: works again, same store", async () => {
    const server = await startRedisServer();
    const events: RedisStoreErrorEvent[] = [];
    const store = track(
      createRedisStore({
        url: server.url,
        keyPrefix: `test:${randomUUID()}:`,
        onError: (e) => events.push(e),
      }),
      server,
    );
    await store.ready();
    assert.equal(await store.replay.consume("jti", inAMinute()), true);
    assert.equal((await store.rateLimiter.hit("sub", 5, 60)).allowed, true);
    assert.equal(store.status().ok, true);

    await server.kill();
    await assertFailsFast(store);
    const down = store.status();
    assert.equal(down.ok, false);
    assert.equal(down.kind, "redis");
    assert.doesNotMatch(down.detail ?? "", /: ready/);
    for (const op of ["seen", "consume", "hit"]) {
      assert.ok(
        events.some((e) => e.op === op),
        `onError saw ${op}`,
      );
    }

    await server.restart();
    await waitForRecovery(store);
    assert.equal(store.status().ok, true, store.status().detail);
    // The rate-limit script is gone with the old process: the store loads it again by itself.
    assert.equal((await store.rateLimiter.hit("sub", 5, 60)).allowed, true);
    assert.equal(typeof (await store.replay.seen("jti")), "boolean");
  });

  it("server hung (SIGSTOP): commands time out in < 1 s; resumed: works again", async () => {
    const server = await startRedisServer();
    const store = track(createRedisStore({ url: server.url, keyPrefix: `test:${randomUUID()}:` }), server);
    await store.ready();
    server.pause();
    try {
      const t = performance.now();
      await assertFailsFast(store);
      // 9 operations, each bounded by the 50 ms command timeout (the store's own deadline is 200 ms).
      assert.ok(performance.now() - t < 9 * 250, `${(performance.now() - t).toFixed(0)} ms`);
      assert.equal(store.status().ok, false);
    } finally {
      server.resume();
    }
    await waitForRecovery(store);
    assert.equal(store.status().ok, true, store.status().detail);
  });

  it("Redis down at start-up: fails closed; comes up later: works, no restart of the broker", async () => {
    const port = await freePort();
    const store = track(
      createRedisStore({ url: `redis://127.0.0.1:${port}`, keyPrefix: `test:${randomUUID()}:` }),
    );
    await assert.rejects(store.ready(300), unavailable);
    await assertFailsFast(store);
    assert.equal(store.status().ok, false);
    const server = await startRedisServer({ port });
    cleanup.push(() => server.stop());
    await waitForRecovery(store);
    assert.equal(store.status().ok, true);
  });

  it("a password in the URL never shows in status, errors, error events or console output", async () => {
    const password = "Pw-7f3a9c1e-secret/@:";
    const wrong = "Wrong-5b2d8e4f-secret";
    const server = await startRedisServer({ password });
    const seen: string[] = [];
    const record = (...args: unknown[]): void => {
      seen.push(args.map((a) => inspect(a, { depth: 10 })).join(" "));
    };
    const saved = { error: console.error, warn: console.warn, log: console.log };
    Object.assign(console, { error: record, warn: record, log: record });
    try {
      const good = track(
        createRedisStore({
          url: `redis://default:${encodeURIComponent(password)}@127.0.0.1:${server.port}/1`,
          keyPrefix: `test:${randomUUID()}:`,
          onError: record,
        }),
      );
      const bad = track(
        createRedisStore({
          url: `redis://:${wrong}@127.0.0.1:${server.port}`,
          keyPrefix: `test:${randomUUID()}:`,
          onError: record,
        }),
      );
      await good.ready();
      assert.equal(await good.replay.consume("jti", inAMinute()), true);
      record(good.status());
      // Wrong password: every operation is refused by the server.
      await sleep(200);
      for (const op of [() => bad.replay.seen("x"), () => bad.rateLimiter.hit("x", 1, 1)]) {
        const err = await op().then(
          () => assert.fail("should have failed"),
          (e: unknown) => e,
        );
        assert.ok(unavailable(err));
        record(err, (err as Error).cause);
      }
      record(bad.status());
      await server.kill();
      for (const op of [() => good.replay.consume("x", inAMinute()), () => good.rateLimiter.hit("x", 1, 1)]) {
        const err = await op().then(
          () => assert.fail("should have failed"),
          (e: unknown) => e,
        );
        assert.ok(unavailable(err));
        record(err, (err as Error).cause, JSON.stringify(err), String(err));
      }
      record(good.status());
    } finally {
      Object.assign(console, saved);
      await server.stop();
    }
    const all = seen.join("\n");
    assert.ok(all.includes(`127.0.0.1:${server.port}`), "the record holds what it should");
    assert.match(all, /WRONGPASS|NOAUTH|invalid password|invalid username-password/i);
    for (const secret of [password, encodeURIComponent(password), wrong, "7f3a9c1e", "5b2d8e4f"]) {
      assert.ok(!all.includes(secret), `leaked ${secret}:\n${all}`);
    }
  });
});
