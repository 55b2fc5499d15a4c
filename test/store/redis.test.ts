import assert from "node:assert/strict";
import { createHash, randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import { BrokerError } from "../../src/errors.ts";
import { createStore } from "../../src/store/index.ts";
import type { RedisStore } from "../../src/store/redis.ts";
import { createRedisStore, parseRedisUrl } from "../../src/store/redis.ts";
import type { RedisServer } from "../helpers/redis-server.ts";
import { startRedisCluster, startRedisServer } from "../helpers/redis-server.ts";
import type { ContractSubject } from "./contract.ts";
import { storeContract } from "./contract.ts";

/**
 * Behaviour tests, not timing tests: a generous command timeout so a CPU-starved CI run cannot turn them into
 * 503s. redis-failure.test.ts runs the 50 ms default.
 */
const commandTimeoutMs = 1000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
const sha256 = (s: string): string => createHash("sha256").update(s, "utf8").digest("hex");

/** Two stores ("two broker instances") on one server and prefix, as the contract wants them. */
async function twoInstances(url: string, stop: () => Promise<void>): Promise<ContractSubject> {
  const keyPrefix = `test:${randomUUID()}:`;
  const a = createRedisStore({ url, keyPrefix, commandTimeoutMs });
  const b = createRedisStore({ url, keyPrefix, commandTimeoutMs });
  await Promise.all([a.ready(), b.ready()]);
  return {
    a,
    b,
    kind: "redis",
    now: () => Date.now(),
    pass: sleep,
    windowSeconds: 1.5,
    close: async () => {
      await Promise.all([a.close(), b.close()]);
      await stop();
    },
  };
}

storeContract("redis (standalone, two clients)", async () => {
  const server = await startRedisServer();
  return twoInstances(server.url, () => server.stop());
});

storeContract("redis (cluster of 3 masters, two clients)", async () => {
  const cluster = await startRedisCluster(3);
  return twoInstances(cluster.url, cluster.stop);
});

describe("redis store", () => {
  let server: RedisServer;
  let raw: Redis;
  before(async () => {
    server = await startRedisServer();
    raw = new Redis({ port: server.port, host: server.host, lazyConnect: true });
    await raw.connect();
  });
  after(async () => {
    raw.disconnect();
    await server.stop();
  });

  const open = async (opts: { keyPrefix?: string; db?: number } = {}): Promise<RedisStore> => {
    const store = createRedisStore({
      commandTimeoutMs,
      url: `${server.url}/${opts.db ?? 0}`,
      keyPrefix: opts.keyPrefix ?? `test:${randomUUID()}:`,
    });
    await store.ready();
    return store;
  };

  it("keys are <prefix><replay|rl>:<sha256 hex>, whatever the caller's key holds", async () => {
    const keyPrefix = `test:${randomUUID()}:`;
    const store = await open({ keyPrefix });
    const hostile = ["a\r\n*1\r\n$8\r\nFLUSHALL\r\n", "{slot}x", "*", "x:replay:y", " ", ""];
    for (const k of hostile) {
      assert.equal(await store.replay.consume(k, Math.floor(Date.now() / 1000) + 60), true);
      assert.equal((await store.rateLimiter.hit(k, 5, 60)).allowed, true);
    }
    const keys = await raw.keys(`${keyPrefix}*`);
    assert.equal(keys.length, hostile.length * 2);
    for (const key of keys) assert.match(key, new RegExp(`^${keyPrefix}(replay|rl):[0-9a-f]{64}$`));
    for (const k of hostile) {
      assert.ok(keys.includes(`${keyPrefix}replay:${sha256(k)}`));
      assert.ok(keys.includes(`${keyPrefix}rl:${sha256(k)}`));
    }
    await store.close();
  });

  it("consume sets an absolute expiry (EXAT) equal to expiresAt; rate-limit keys live at most a window", async () => {
    const keyPrefix = `test:${randomUUID()}:`;
    const store = await open({ keyPrefix });
    const expiresAt = Math.floor(Date.now() / 1000) + 3600;
    await store.replay.consume("jti-1", expiresAt);
    assert.equal(await raw.call("EXPIRETIME", `${keyPrefix}replay:${sha256("jti-1")}`), expiresAt);
    await store.replay.consume("jti-2", expiresAt + 0.2);
    assert.equal(await raw.call("EXPIRETIME", `${keyPrefix}replay:${sha256("jti-2")}`), expiresAt + 1);

    await store.rateLimiter.hit("sub", 10, 60);
    const rl = `${keyPrefix}rl:${sha256("sub")}`;
    const pttl = await raw.pttl(rl);
    assert.ok(pttl > 0 && pttl <= 6000, `pttl ${pttl}`); // one emission interval: 60 s / 10
    assert.match((await raw.get(rl)) ?? "", /^\d{16}$/); // TAT, integer µs
    await store.close();
  });

  it("key prefixes separate deployments sharing one server; default prefix is wif-broker:", async () => {
    const one = await open();
    const two = await open();
    const exp = Math.floor(Date.now() / 1000) + 60;
    const jti = randomUUID();
    assert.equal(await one.replay.consume(jti, exp), true);
    assert.equal(await two.replay.consume(jti, exp), true);
    const dflt = createRedisStore({ url: server.url, commandTimeoutMs });
    await dflt.ready();
    await dflt.replay.consume(jti, exp);
    assert.equal(await raw.exists(`wif-broker:replay:${sha256(jti)}`), 1);
    await Promise.all([one.close(), two.close(), dflt.close()]);
  });

  it("uses the db from the URL path", async () => {
    const keyPrefix = `test:${randomUUID()}:`;
    const store = await open({ keyPrefix, db: 3 });
    await store.replay.consume("x", Math.floor(Date.now() / 1000) + 60);
    const db3 = raw.duplicate({ db: 3 });
    assert.equal(await db3.exists(`${keyPrefix}replay:${sha256("x")}`), 1);
    assert.equal(await raw.exists(`${keyPrefix}replay:${sha256("x")}`), 0);
    db3.disconnect();
    assert.match(store.status().detail ?? "", new RegExp(`127\\.0\\.0\\.1:${server.port}/3: ready`));
    await store.close();
  });

  it("reloads the rate-limit script after the server forgets it (SCRIPT FLUSH, restart)", async () => {
    const store = await open();
    assert.equal((await store.rateLimiter.hit("k", 2, 60)).allowed, true);
    await raw.script("FLUSH");
    assert.equal((await store.rateLimiter.hit("k", 2, 60)).allowed, true);
    assert.equal((await store.rateLimiter.hit("k", 2, 60)).allowed, false);
    await store.close();
  });

  it("status: ok and a detail naming the server; after close: not ok, ops fail closed, close is idempotent", async () => {
    const store = await open();
    assert.deepEqual(store.status(), {
      kind: "redis",
      ok: true,
      detail: `redis 127.0.0.1:${server.port}/0: ready`,
    });
    await store.close();
    await store.close();
    assert.equal(store.status().ok, false);
    assert.match(store.status().detail ?? "", /closed/);
    await assert.rejects(
      store.replay.consume("x", Math.floor(Date.now() / 1000) + 60),
      (e) => e instanceof BrokerError && e.kind === "unavailable" && e.retryAfter === 1,
    );
  });

  it("an operation takes well under the default 50 ms command timeout (median; p99 in the diagnostics)", async (t) => {
    const store = await open();
    const exp = Math.floor(Date.now() / 1000) + 60;
    const samples: number[] = [];
    for (let i = 0; i < 500; i++) {
      const start = performance.now();
      await (i % 2 ? store.replay.consume(`k${i}`, exp) : store.rateLimiter.hit(`k${i}`, 10, 60));
      samples.push(performance.now() - start);
    }
    samples.sort((x, y) => x - y);
    const q = (p: number): number => samples[Math.floor(samples.length * p)] ?? Number.POSITIVE_INFINITY;
    t.diagnostic(`redis op latency p50 ${q(0.5).toFixed(3)} ms, p99 ${q(0.99).toFixed(3)} ms`);
    assert.ok(q(0.5) < 10, `p50 ${q(0.5).toFixed(2)} ms`);
    await store.close();
  });

  it("createStore: undefined → memory, a URL → redis, empty → error", async () => {
    const memory = createStore(undefined);
    assert.equal(memory.status().kind, "memory");
    await memory.close();
    const redis = createStore(server.url, { keyPrefix: `test:${randomUUID()}:` });
    assert.equal(redis.status().kind, "redis");
    await redis.close();
    assert.throws(() => createStore(""), TypeError);
    assert.throws(() => createStore("http://x"), TypeError);
  });
});

describe("redis store: Sentinel", () => {
  it("finds the master through the sentinels and authenticates to it", async () => {
    const password = "m@ster:pw/#1";
    const master = await startRedisServer({ password });
    const sentinel = await startRedisServer({
      sentinelConfig: [
        `sentinel monitor wifmaster 127.0.0.1 ${master.port} 1`,
        `sentinel auth-pass wifmaster ${password}`,
      ],
    });
    try {
      const url = `redis+sentinel://:${encodeURIComponent(password)}@127.0.0.1:1,127.0.0.1:${sentinel.port}/wifmaster/2`;
      const store = createRedisStore({ url, keyPrefix: "s:", commandTimeoutMs });
      await store.ready();
      assert.equal(await store.replay.consume("jti", Math.floor(Date.now() / 1000) + 60), true);
      assert.equal((await store.rateLimiter.hit("sub", 1, 60)).allowed, true);
      const detail = store.status().detail ?? "";
      assert.match(
        detail,
        new RegExp(`sentinel wifmaster/2 via 127\\.0\\.0\\.1:1,127\\.0\\.0\\.1:${sentinel.port}: ready`),
      );
      assert.ok(!detail.includes("m@ster"));
      const direct = new Redis({ port: master.port, password, db: 2, lazyConnect: true });
      await direct.connect();
      assert.equal(await direct.exists(`s:replay:${sha256("jti")}`), 1);
      direct.disconnect();
      await store.close();
    } finally {
      await sentinel.stop();
      await master.stop();
    }
  });
});

describe("parseRedisUrl", () => {
  it("accepts the documented forms", () => {
    assert.deepEqual(parseRedisUrl("redis://127.0.0.1:6380/2"), {
      tls: false,
      mode: "standalone",
      host: "127.0.0.1",
      port: 6380,
      db: 2,
    });
    assert.deepEqual(parseRedisUrl("rediss://user:p%40ss%2Fw@cache.example.com"), {
      username: "user",
      password: "p@ss/w",
      tls: true,
      mode: "standalone",
      host: "cache.example.com",
      port: 6379,
      db: 0,
    });
    assert.deepEqual(parseRedisUrl("redis://:pw@[::1]:7000/"), {
      password: "pw",
      tls: false,
      mode: "standalone",
      host: "::1",
      port: 7000,
      db: 0,
    });
    assert.deepEqual(
      parseRedisUrl(
        "redis+sentinel://:pw@s1:26380,s2,[::1]/my%20master/4?sentinelPassword=sp&sentinelUsername=su",
      ),
      {
        password: "pw",
        tls: false,
        mode: "sentinel",
        sentinels: [
          { host: "s1", port: 26380 },
          { host: "s2", port: 26379 },
          { host: "::1", port: 26379 },
        ],
        name: "my master",
        db: 4,
        sentinelUsername: "su",
        sentinelPassword: "sp",
      },
    );
    assert.deepEqual(parseRedisUrl("rediss+cluster://default:pw@n1:7000,n2:7001"), {
      username: "default",
      password: "pw",
      tls: true,
      mode: "cluster",
      nodes: [
        { host: "n1", port: 7000 },
        { host: "n2", port: 7001 },
      ],
    });
    assert.equal(parseRedisUrl("REDIS://h").mode, "standalone");
  });

  it("rejects everything else with a TypeError that never repeats the URL", () => {
    const secret = "hunter2-secret";
    for (const url of [
      `http://:${secret}@h`,
      `redis://:${secret}@h1,h2`,
      `redis://:${secret}@h/abc`,
      `redis://:${secret}@h/1/2`,
      `redis://:${secret}@h:0`,
      `redis://:${secret}@h:65536`,
      `redis://:${secret}@h:port`,
      `redis://:${secret}@`,
      `redis://:${secret}#x@h`,
      `redis://:${secret}@h?db=1`,
      `redis://:%E0%A4%A${secret}@h`,
      `redis+sentinel://:${secret}@s1,s2`,
      `redis+sentinel://:${secret}@s1/m/x`,
      `redis+sentinel://:${secret}@s1/m/1?password=x`,
      `redis+cluster://:${secret}@n1/1`,
      `redis+cluster://:${secret}@n1/0/0`,
      `${secret}`,
    ]) {
      assert.throws(
        () => parseRedisUrl(url),
        (e) => e instanceof TypeError && !e.message.includes(secret) && e.message.startsWith("store.redis:"),
        url,
      );
    }
  });
});
