/**
 * Under load the store keeps answering (issue 8 §6): the broker's own event-loop lag is not a store timeout, and a
 * retried single-use write never turns one presentation into a false replay.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { createServer, type Server, type Socket, connect as tcpConnect } from "node:net";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { withDeadline } from "../../src/store/redis/deadline.ts";
import { createRedisStore, type RedisStore } from "../../src/store/redis.ts";
import { type RedisServer, startRedisServer } from "../helpers/redis-server.ts";

/** Blocks the event loop, as a burst of CPU work (or the host descheduling the process) does. */
function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // spin
  }
}

describe("withDeadline does not count the loop's own lag", () => {
  let redis: RedisServer;
  before(async () => {
    redis = await startRedisServer();
  });
  after(() => redis.stop());

  it("a reply that arrived while the loop was blocked past the deadline is delivered, not timed out (property)", async () => {
    // Another process answers (redis-server, raw RESP), so the reply really waits in the socket buffer.
    const socket = tcpConnect(redis.port, "127.0.0.1");
    await new Promise((resolve) => socket.once("connect", resolve));
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 20, max: 60 }),
          fc.integer({ min: 2, max: 5 }),
          async (deadline, factor) => {
            const reply = new Promise<Buffer>((resolve) => socket.once("data", resolve));
            socket.write("PING\r\n");
            const answered = withDeadline(reply, deadline);
            busy(deadline * factor); // PONG is back in the socket buffer long before the loop looks
            assert.equal((await answered).toString(), "+PONG\r\n");
          },
        ),
        { numRuns: 10 },
      );
      const never = new Promise<never>(() => undefined);
      await assert.rejects(
        withDeadline(never, 20),
        /no reply within 20 ms/,
        "a missing reply still times out",
      );
    } finally {
      socket.destroy();
    }
  });
});

describe("a healthy Redis behind a lagging event loop", () => {
  let redis: RedisServer;
  let store: RedisStore;
  before(async () => {
    redis = await startRedisServer();
    store = createRedisStore({ url: redis.url, keyPrefix: `t:${randomUUID()}:`, commandTimeoutMs: 50 });
    await store.ready();
  });
  after(async () => {
    await store.close();
    await redis.stop();
  });

  it("answers every operation although the loop is blocked for longer than the 50 ms deadline (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("seen", "consume", "hit"),
        fc.integer({ min: 60, max: 250 }),
        async (op, lag) => {
          const key = randomUUID();
          const pending =
            op === "seen"
              ? store.replay.seen(key)
              : op === "consume"
                ? store.replay.consume(key, Date.now() / 1000 + 60)
                : store.rateLimiter.hit(key, 10, 60);
          busy(lag);
          const result = await pending;
          assert.equal(op === "hit" ? (result as { allowed: boolean }).allowed : result, op !== "seen");
        },
      ),
      { numRuns: 12 },
    );
    assert.equal(store.status().ok, true);
  });
});

/**
 * A TCP proxy in front of Redis that, once armed, holds every reply until the client sends its next request (the
 * retry): the first attempt's write lands on the server, its reply misses the deadline, and only then does it
 * arrive — in order, just before the retry's own reply. No timing guesswork: the retry is what releases it.
 */
async function holdingProxy(target: number): Promise<{ port: number; arm(): void; close(): void }> {
  let armed = false;
  const sockets: Socket[] = [];
  const server: Server = createServer((client) => {
    const upstream = tcpConnect(target, "127.0.0.1");
    sockets.push(client, upstream);
    let held: Buffer[] | undefined;
    client.on("data", (d) => {
      if (held !== undefined && held.length > 0) {
        for (const chunk of held) client.write(chunk);
        held = undefined;
      } else if (armed) {
        armed = false;
        held = [];
      }
      upstream.write(d);
    });
    upstream.on("data", (d) => {
      if (held !== undefined) held.push(d);
      else client.write(d);
    });
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as { port: number }).port,
    arm: () => {
      armed = true;
    },
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

describe("a retried single-use write", () => {
  let redis: RedisServer;
  let proxy: Awaited<ReturnType<typeof holdingProxy>>;
  let store: RedisStore;
  let other: RedisStore;
  const timeout = 50;
  before(async () => {
    redis = await startRedisServer();
    proxy = await holdingProxy(redis.port);
    const keyPrefix = `t:${randomUUID()}:`;
    store = createRedisStore({
      url: `redis://127.0.0.1:${proxy.port}`,
      keyPrefix,
      commandTimeoutMs: timeout,
    });
    other = createRedisStore({ url: redis.url, keyPrefix, commandTimeoutMs: 1000 });
    await Promise.all([store.ready(), other.ready()]);
    await store.replay.seen("warm-up"); // scripts and connection settled before the proxy delays anything
    await store.replay.consume("warm-up", Date.now() / 1000 + 60);
  });
  after(async () => {
    await Promise.all([store.close(), other.close()]);
    proxy.close();
    await redis.stop();
  });

  it("whose first reply is late admits that presentation once and refuses every other (property)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uuid(), fc.integer({ min: 1, max: 3600 }), async (jti, ttl) => {
        const exp = Date.now() / 1000 + ttl;
        proxy.arm(); // the first attempt lands, its reply misses the deadline, the retry sees the marker
        assert.equal(
          await store.replay.consume(jti, exp),
          true,
          "the one presentation is not a replay of itself",
        );
        assert.equal(
          await store.replay.consume(jti, exp),
          false,
          "a second presentation through the same store",
        );
        assert.equal(
          await other.replay.consume(jti, exp),
          false,
          "a second presentation on another instance",
        );
      }),
      { numRuns: 6 },
    );
  });
});
