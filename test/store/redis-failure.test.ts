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
import { freePort, startRedisCluster, startRedisServer } from "../helpers/redis-server.ts";

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

/**
 * Setup steps that must succeed, retried on `unavailable`: on a CPU-starved CI machine a healthy server can
 * miss the 50 ms default timeout, and that is not what these tests are about.
 */
async function eventually<T>(fn: () => Promise<T>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (!unavailable(err) || Date.now() > deadline) throw err;
      await sleep(20);
    }
  }
}

/** Recovery happens inside the same store object: `consume` works again within `timeoutMs`. */
async function waitForRecovery(store: RedisStore, timeoutMs = 10_000): Promise<void> {
  await eventually(() => store.replay.consume(randomUUID(), inAMinute()), timeoutMs);
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
    assert.equal(await eventually(() => store.replay.consume("jti", inAMinute())), true);
    assert.equal((await eventually(() => store.rateLimiter.hit("sub", 5, 60))).allowed, true);
    assert.equal(store.status().ok, true);

    await server.kill();
    await assertFailsFast(store);
    const down = store.status();
    assert.equal(down.ok, false);
    assert.equal(down.kind, "redis");
    // The connection state may still read "ready" for a tick after the socket died; the failure shows anyway.
    assert.match(down.detail ?? "", /failed|error|reconnecting|close/);
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
    assert.equal((await eventually(() => store.rateLimiter.hit("sub", 5, 60))).allowed, true);
    assert.equal(typeof (await eventually(() => store.replay.seen("jti"))), "boolean");
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

  it("cluster: a master killed → its keys fail closed in < 1 s; restarted → works again, same store", async () => {
    const cluster = await startRedisCluster(3);
    cleanup.push(cluster.stop);
    const store = track(createRedisStore({ url: cluster.url, keyPrefix: `test:${randomUUID()}:` }));
    await store.ready();
    const victim = cluster.servers[1];
    assert.ok(victim);
    await victim.kill();
    let failures = 0;
    for (let i = 0; i < 30; i++) {
      const t = performance.now();
      try {
        await store.replay.consume(randomUUID(), inAMinute()); // keys spread over every master
      } catch (err) {
        assert.ok(unavailable(err), String(err));
        failures++;
      }
      assert.ok(performance.now() - t < 1000, `took ${(performance.now() - t).toFixed(0)} ms`);
    }
    assert.ok(failures >= 5, `${failures} of 30 failed`);

    await victim.restart(); // same port, same nodes.conf: it rejoins with its slots
    await cluster.waitHealthy();
    const deadline = Date.now() + 15_000;
    for (let streak = 0; streak < 30; ) {
      try {
        await store.replay.consume(randomUUID(), inAMinute());
        streak++;
      } catch (err) {
        assert.ok(unavailable(err), String(err));
        assert.ok(Date.now() < deadline, `no recovery: ${store.status().detail}`);
        streak = 0;
        await sleep(50);
      }
    }
    assert.equal(store.status().ok, true, store.status().detail);
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
      assert.equal(await eventually(() => good.replay.consume("jti", inAMinute())), true);
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
