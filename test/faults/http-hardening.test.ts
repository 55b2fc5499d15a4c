/**
 * HTTP hardening of the real node http server that startBroker listens with: slow and oversized clients, and
 * graceful shutdown (in process, and `wif-broker serve` on SIGTERM). Raw sockets where fetch would hide the wire.
 *
 * The server's default limits are set in src/main.ts (headersTimeout 10 s, requestTimeout 30 s, keepAliveTimeout
 * 5 s, 16 KiB of headers, 100 headers, timeouts checked every second). The slow-headers test runs against those
 * defaults (~11 s); the slow-body test lowers requestTimeout through BrokerOptions.http. The tests run
 * concurrently so the file takes about as long as the slowest one.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { type AddressInfo, connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { DemoIssuer } from "../../src/dev/demo-issuer.ts";
import type { Minter } from "../../src/mint/types.ts";
import {
  BROKER_ISSUER,
  formBody,
  GITHUB_POLICY,
  JWT_TYPE,
  startTestBroker,
  type TestBroker,
  TOKEN_EXCHANGE,
} from "../helpers/broker.ts";
import { startCli } from "../helpers/cli.ts";
import { fixtureClaims } from "../helpers/fixtures.ts";

const DEPLOY = "https://deploy.acme.internal";
/** The server's default limits as src/main.ts sets them, including how often Node checks them. */
const HEADERS_TIMEOUT_MS = 10_000;
const KEEP_ALIVE_TIMEOUT_MS = 5_000;
const CHECK_INTERVAL_MS = 1_000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const { jti: _jti, ...CLAIMS } = fixtureClaims("github-actions-branch");

function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** A raw client socket that collects everything the server sends and notes when the server closed it. */
/** Raw clients by the broker port they talk to, so a failed test can drop its own before closing its broker. */
const clientsByPort = new Map<number, Set<RawClient>>();

class RawClient {
  readonly socket: Socket;
  readonly opened = performance.now();
  received = "";
  closedAt: number | undefined;
  readonly closed: Promise<void>;
  readonly connected: Promise<void>;

  constructor(port: number) {
    this.socket = connect(port, "127.0.0.1");
    const open = clientsByPort.get(port) ?? new Set<RawClient>();
    clientsByPort.set(port, open.add(this));
    this.socket.on("data", (d: Buffer) => {
      this.received += d.toString("latin1");
    });
    this.socket.on("error", () => undefined);
    this.connected = once(this.socket, "connect").then(() => undefined);
    // Not events.once: it rejects on an 'error' (a reset while the server closes us), and nobody may await it.
    this.closed = new Promise<void>((resolve) => {
      this.socket.once("close", () => {
        this.closedAt = performance.now();
        resolve();
      });
    });
  }

  write(data: string | Buffer): void {
    if (!this.socket.destroyed) this.socket.write(data);
  }

  /** Status codes of the complete responses received so far, in order. */
  statuses(): number[] {
    return parseResponses(this.received).map((r) => r.status);
  }

  /** Resolves once `n` responses are complete (status line, headers, and a body of Content-Length). */
  async responses(n: number, timeoutMs = 5000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (parseResponses(this.received).length < n) {
      if (performance.now() > deadline)
        throw new Error(`no ${n} responses within ${timeoutMs} ms: ${this.received}`);
      if (this.closedAt !== undefined) throw new Error(`closed after: ${this.received}`);
      await sleep(5);
    }
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Splits what a server sent into complete responses (bodies framed by Content-Length, as this server frames them). */
function parseResponses(text: string): Array<{ status: number; head: string }> {
  const out: Array<{ status: number; head: string }> = [];
  let rest = text;
  for (;;) {
    const end = rest.indexOf("\r\n\r\n");
    if (end === -1) return out;
    const head = rest.slice(0, end);
    const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
    if (rest.length < end + 4 + length) return out;
    out.push({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), head });
    rest = rest.slice(end + 4 + length);
  }
}

/** Resolves with the error code when a new TCP connection to `port` fails, or "connected" if it succeeds. */
function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, "127.0.0.1");
    s.once("connect", () => {
      s.destroy();
      resolve("connected");
    });
    s.once("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

function tokenRequest(token: string, connection: "keep-alive" | "close" = "keep-alive"): string {
  const body = formBody({
    grant_type: TOKEN_EXCHANGE,
    subject_token: token,
    subject_token_type: JWT_TYPE,
    audience: DEPLOY,
  });
  return (
    `POST /token HTTP/1.1\r\nHost: broker\r\nConnection: ${connection}\r\n` +
    `Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  );
}

const GET = (path: string, extra = ""): string => `GET ${path} HTTP/1.1\r\nHost: broker\r\n${extra}\r\n`;

async function timedFetch(url: string, init: RequestInit = {}): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(5000) });
  await res.arrayBuffer();
  return { status: res.status, ms: performance.now() - started };
}

/** A jwt minter that blocks until released: a long in-flight request under the broker's control. */
function gatedMinter() {
  const entered = deferred();
  const gate = deferred();
  const minter: Minter = {
    kind: "jwt",
    async mint() {
      entered.resolve();
      await gate.promise;
      return {
        accessToken: "slow-token",
        issuedTokenType: "urn:ietf:params:oauth:token-type:access_token",
        tokenType: "Bearer",
        expiresIn: 60,
      };
    },
  };
  return { minter, entered: entered.promise, release: () => gate.resolve() };
}

async function withBroker(fn: (t: TestBroker) => Promise<void>): Promise<void> {
  const t = await startTestBroker({ policies: GITHUB_POLICY });
  try {
    await fn(t);
  } finally {
    // A half-sent request would hold close() forever: Node stops its timeout checks once the server closes.
    for (const c of clientsByPort.get(t.broker.port) ?? []) c.destroy();
    clientsByPort.delete(t.broker.port);
    await t.close();
  }
}

describe("HTTP hardening (real node http server)", { concurrency: true }, () => {
  it("slow headers (slowloris): 408 and disconnected by the headers timeout, while others are served", {
    timeout: 60_000,
  }, async () => {
    await withBroker(async (t) => {
      const head = "GET /healthz HTTP/1.1\r\nHost: broker\r\nX-Slow: ";
      const clients = Array.from({ length: 20 }, () => new RawClient(t.broker.port));
      await Promise.all(clients.map((c) => c.connected));
      // One header byte every 250 ms, never the blank line that ends the headers; bounded at 50 s.
      let sent = 0;
      const dribble = setInterval(() => {
        const byte = sent < head.length ? head.charAt(sent) : "a";
        sent++;
        for (const c of clients) c.write(byte);
      }, 250);
      const giveUp = setTimeout(
        () => {
          for (const c of clients) c.destroy();
        },
        HEADERS_TIMEOUT_MS + CHECK_INTERVAL_MS + 10_000,
      );
      try {
        for (let i = 0; i < 5; i++) {
          const r = await timedFetch(`${t.url}/healthz`);
          assert.equal(r.status, 200);
          // Answered while every slow client still holds its socket: nothing waits for them to be dropped.
          assert.ok(
            clients.every((c) => c.closedAt === undefined),
            "served while the 20 slow clients are still connected",
          );
          await sleep(300);
        }
        await Promise.all(clients.map((c) => c.closed));
      } finally {
        clearInterval(dribble);
        clearTimeout(giveUp);
      }
      for (const c of clients) {
        assert.deepEqual(c.statuses(), [408], `answered 408 Request Timeout: ${c.received.slice(0, 80)}`);
        const after = (c.closedAt ?? Infinity) - c.opened;
        assert.ok(
          after >= HEADERS_TIMEOUT_MS - 100,
          `not before the headers timeout (${after.toFixed(0)} ms)`,
        );
        assert.ok(
          after <= HEADERS_TIMEOUT_MS + CHECK_INTERVAL_MS + 2000,
          `disconnected after ${after.toFixed(0)} ms`,
        );
      }
      assert.equal((await timedFetch(`${t.url}/healthz`)).status, 200);
    });
  });

  it("an idle keep-alive connection is closed by the server after its keep-alive timeout", async () => {
    await withBroker(async (t) => {
      const c = new RawClient(t.broker.port);
      c.write(GET("/healthz"));
      await c.responses(1);
      const answered = performance.now();
      assert.match(c.received, /\r\nkeep-alive: timeout=5\r\n/i);
      const giveUp = setTimeout(() => c.destroy(), 15_000);
      await c.closed;
      clearTimeout(giveUp);
      const idle = (c.closedAt ?? Infinity) - answered;
      assert.ok(idle >= KEEP_ALIVE_TIMEOUT_MS - 200, `closed after ${idle.toFixed(0)} ms idle`);
      assert.ok(idle <= KEEP_ALIVE_TIMEOUT_MS + 2000, `closed after ${idle.toFixed(0)} ms idle`);
    });
  });

  it("headers over 16 KiB → 431 and the connection closed; just under passes", async () => {
    await withBroker(async (t) => {
      const big = new RawClient(t.broker.port);
      big.write(GET("/healthz", `X-Big: ${"x".repeat(17 * 1024)}\r\n`));
      await big.closed;
      assert.deepEqual(big.statuses(), [431]);

      const fits = new RawClient(t.broker.port);
      fits.write(GET("/healthz", `X-Big: ${"x".repeat(15 * 1024)}\r\nConnection: close\r\n`));
      await fits.closed;
      assert.deepEqual(fits.statuses(), [200]);
    });
  });

  it("more than 100 header fields → 431, although their bytes are far under 16 KiB; 90 pass", async () => {
    await withBroker(async (t) => {
      const fields = (n: number) => Array.from({ length: n }, (_, i) => `X-F${i}: 1\r\n`).join("");
      const many = new RawClient(t.broker.port);
      many.write(GET("/healthz", `${fields(150)}Connection: close\r\n`));
      await many.closed;
      assert.deepEqual(many.statuses(), [431]);

      const fewer = new RawClient(t.broker.port);
      fewer.write(GET("/healthz", `${fields(90)}Connection: close\r\n`));
      await fewer.closed;
      assert.deepEqual(fewer.statuses(), [200]);
      assert.equal((await timedFetch(`${t.url}/healthz`)).status, 200, "the server is unaffected");
    });
  });

  it("a trickling body: others are served meanwhile, it is read whole; a trickle past 64 KiB → 413 at once", async () => {
    await withBroker(async (t) => {
      // Content-Length 1500, one byte every 100 ms for 3 s: holds only its own socket.
      const body = formBody({
        grant_type: TOKEN_EXCHANGE,
        subject_token: t.idp.mint(CLAIMS),
        subject_token_type: JWT_TYPE,
        audience: DEPLOY,
      });
      const slow = new RawClient(t.broker.port);
      slow.write(
        `POST /token HTTP/1.1\r\nHost: broker\r\nConnection: close\r\n` +
          `Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`,
      );
      for (let i = 0; i < 30; i++) {
        slow.write(body.charAt(i));
        if (i % 10 === 0) {
          const r = await timedFetch(`${t.url}/token`, {
            method: "POST",
            headers: { "content-type": "application/x-www-form-urlencoded" },
            body: formBody({
              grant_type: TOKEN_EXCHANGE,
              subject_token: t.idp.mint(CLAIMS),
              subject_token_type: JWT_TYPE,
              audience: DEPLOY,
            }),
          });
          assert.equal(r.status, 200);
          // Answered in the middle of the trickle: the slow body holds only its own socket.
          assert.ok(
            slow.closedAt === undefined && slow.received === "",
            "served while the body still trickles",
          );
        }
        await sleep(100);
      }
      assert.equal(slow.received, "", "nothing is answered from a partial body");
      slow.write(body.slice(30));
      await slow.closed;
      assert.deepEqual(slow.statuses(), [200], "the trickled body was read whole and exchanged");

      // Chunked (no Content-Length to refuse up front): 8 KiB every 20 ms, never finished.
      const flood = new RawClient(t.broker.port);
      flood.write(
        "POST /token HTTP/1.1\r\nHost: broker\r\nContent-Type: application/x-www-form-urlencoded\r\n" +
          "Transfer-Encoding: chunked\r\n\r\n",
      );
      const chunk = `2000\r\n${"a".repeat(0x2000)}\r\n`;
      let chunks = 0;
      while (flood.statuses().length === 0 && flood.closedAt === undefined && chunks < 40) {
        flood.write(chunk);
        chunks++;
        await sleep(20);
      }
      await flood.responses(1);
      assert.deepEqual(flood.statuses(), [413]);
      assert.ok(chunks <= 12, `refused as the 64 KiB cap was crossed, after ${chunks} chunks of 8 KiB`);
      flood.destroy();
    });
  });

  it("a body that trickles past the request timeout → 408 and disconnected", async () => {
    const t = await startTestBroker({
      policies: GITHUB_POLICY,
      http: { requestTimeoutMs: 1500, headersTimeoutMs: 1000 },
    });
    try {
      const slow = new RawClient(t.broker.port);
      slow.write(
        "POST /token HTTP/1.1\r\nHost: broker\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n",
      );
      const dribble = setInterval(() => slow.write("a"), 100);
      const giveUp = setTimeout(() => slow.destroy(), 10_000);
      try {
        await slow.closed;
      } finally {
        clearInterval(dribble);
        clearTimeout(giveUp);
      }
      const after = (slow.closedAt ?? Infinity) - slow.opened;
      assert.deepEqual(slow.statuses(), [408]);
      assert.ok(
        after >= 1400 && after <= 1500 + CHECK_INTERVAL_MS + 1000,
        `cut after ${after.toFixed(0)} ms`,
      );
    } finally {
      await t.close();
    }
  });

  it("graceful shutdown: /readyz 503 during the delay, the in-flight request completes, then refused; bounded", async () => {
    const DELAY = 600;
    const gated = gatedMinter();
    const t = await startTestBroker({
      policies: GITHUB_POLICY,
      minters: { jwt: gated.minter },
      shutdownDelayMs: DELAY,
    });
    try {
      let answeredAt = 0;
      const inflight = t.exchange(t.idp.mint(CLAIMS), DEPLOY).then(async (res) => {
        const body = (await res.json()) as Record<string, unknown>;
        answeredAt = performance.now();
        return { status: res.status, body };
      });
      await gated.entered;

      let closedAt: number | undefined;
      const closeStarted = performance.now();
      const closing = t.broker.close().then(() => {
        closedAt = performance.now();
      });
      // During the delay: still listening, but not ready (load balancers take the instance out).
      const ready = await fetch(`${t.url}/readyz`, { headers: { connection: "close" } });
      const readyBody = (await ready.json()) as { components: { shutdown: { ok: boolean } } };
      assert.equal(ready.status, 503);
      assert.equal(readyBody.components.shutdown.ok, false);
      assert.ok(performance.now() - closeStarted < DELAY, "answered within the shutdown delay");

      // After the delay the listener is closed: new connections are refused while the request is in flight.
      await sleep(DELAY + 200);
      assert.equal(await tryConnect(t.broker.port), "ECONNREFUSED");
      assert.equal(closedAt, undefined, "close waits for the in-flight request");

      gated.release();
      const r = await inflight;
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.access_token, "slow-token");
      await Promise.race([closing, sleep(5000)]);
      assert.ok(closedAt !== undefined, "close resolved");
      assert.ok(
        closedAt - answeredAt < 1000,
        `close resolves promptly once the last request is answered, took ${(closedAt - answeredAt).toFixed(0)} ms ` +
          "(the finished request's keep-alive connection must not hold the shutdown)",
      );
    } finally {
      gated.release();
      await t.broker.close();
      await t.idp.close();
    }
  });

  it("graceful shutdown with a keep-alive client that keeps sending: its connection is closed, close resolves", async () => {
    const gated = gatedMinter();
    const t = await startTestBroker({
      policies: GITHUB_POLICY,
      minters: { jwt: gated.minter },
      shutdownDelayMs: 100,
    });
    const c = new RawClient(t.broker.port);
    try {
      c.write(tokenRequest(t.idp.mint(CLAIMS)));
      await gated.entered;
      let closedAt: number | undefined;
      const closing = t.broker.close().then(() => {
        closedAt = performance.now();
      });
      await sleep(300);
      gated.release();
      await c.responses(1);
      const answered = performance.now();
      // A proxy's pooled upstream connection: it sends the next request as soon as it has the answer.
      for (let i = 0; i < 20 && c.closedAt === undefined; i++) {
        c.write(GET("/healthz"));
        await sleep(100);
      }
      await Promise.race([closing, sleep(1000)]);
      assert.equal(c.statuses()[0], 200);
      assert.ok(
        c.closedAt !== undefined,
        `the server closed the connection (answered ${c.statuses().length})`,
      );
      assert.ok(closedAt !== undefined && closedAt - answered < 2000, "close resolved promptly");
    } finally {
      gated.release();
      c.destroy();
      await t.broker.close();
      await t.idp.close();
    }
  });

  it("`wif-broker serve` on SIGTERM with a request in flight: the request completes, exit code 0", async () => {
    const idp = await DemoIssuer.start();
    // An issuer whose JWKS answers after 1.5 s: the first exchange is in flight that long.
    const jwksRequested = deferred();
    const slowIssuer: Server = createServer((req, res) => {
      const send = (body: unknown) =>
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
      if (req.url === "/.well-known/openid-configuration") send({ issuer: url, jwks_uri: `${url}/jwks` });
      else if (req.url === "/jwks") {
        jwksRequested.resolve();
        const k = idp.currentKey;
        setTimeout(() => send({ keys: [{ ...k.jwk, kid: k.kid, alg: k.alg, use: "sig" }] }), 1500);
      } else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => slowIssuer.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(slowIssuer.address() as AddressInfo).port}`;

    const dir = mkdtempSync(join(tmpdir(), "wif-serve-"));
    const policies = mkdtempSync(join(tmpdir(), "wif-serve-policies-"));
    writeFileSync(join(policies, "policies.yaml"), GITHUB_POLICY);
    writeFileSync(
      join(dir, "wif-broker.yaml"),
      `issuer: ${BROKER_ISSUER}\nlisten: { host: 127.0.0.1, port: 0 }\npolicies: ${policies}\n` +
        `providers:\n  - { name: github, issuer: "${url}", allowInsecureHttp: true }\n`,
    );
    const cli = startCli(["serve", "--config", join(dir, "wif-broker.yaml")], /wif-broker listening/, {
      WIF_BROKER_SHUTDOWN_DELAY_MS: "200",
    });
    try {
      const stderr = await cli.started;
      const port = /"port":(\d+)/.exec(stderr)?.[1];
      assert.ok(port, stderr);
      const exited = new Promise<number | null>((resolve) => cli.child.once("exit", (code) => resolve(code)));
      const inflight = fetch(`http://127.0.0.1:${port}/token`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: formBody({
          grant_type: TOKEN_EXCHANGE,
          subject_token: idp.mint({ ...CLAIMS, iss: url }),
          subject_token_type: JWT_TYPE,
          audience: DEPLOY,
        }),
        signal: AbortSignal.timeout(10_000),
      });
      await jwksRequested.promise;
      const signalled = performance.now();
      cli.child.kill("SIGTERM");
      const res = await inflight;
      const body = (await res.json()) as Record<string, unknown>;
      assert.equal(res.status, 200, JSON.stringify(body));
      assert.equal(typeof body.access_token, "string");
      const code = await Promise.race([exited, sleep(20_000).then(() => "still running")]);
      assert.equal(code, 0, cli.output().stderr);
      assert.ok(performance.now() - signalled < 20_000);
      assert.match(cli.output().stderr, /shutting down/);
      assert.match(cli.output().stdout, /"decision":"allow"/, "the in-flight request was audited as allowed");
    } finally {
      await cli.stop();
      await new Promise<void>((resolve) => {
        slowIssuer.close(() => resolve());
        slowIssuer.closeAllConnections();
      });
      await idp.close();
    }
  });
});
