/**
 * scripts/test.sh's service detection, driven in --dry-run mode (it changes nothing): a port that answers as the
 * service is used, a free standard port gets the machine's service, a port taken by something else gets a private
 * instance. The real start paths are proved by running the script (README "Two commands").
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createServer, type Server, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { freePort, type RedisServer, startRedisServer } from "../helpers/redis-server.ts";

const run = promisify(execFile);

async function dryRun(env: Record<string, string>): Promise<{ stdout: string; stderr: string }> {
  // What an outer scripts/test.sh exported must not decide for the inner one.
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith("WIF_TEST_")),
  );
  return run("bash", ["scripts/test.sh", "--dry-run"], {
    env: { ...inherited, WIF_TEST_CHROMIUM: "/nonexistent/chromium", ...env },
    timeout: 60_000,
  });
}

describe("scripts/test.sh --dry-run", () => {
  let taken: Server;
  let takenPort = 0;
  const sockets = new Set<Socket>();
  let redis: RedisServer;
  before(async () => {
    taken = createServer((socket) => {
      sockets.add(socket);
      socket.on("error", () => {});
      socket.end("not a database\r\n");
    });
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    const address = taken.address();
    assert.ok(address !== null && typeof address === "object");
    takenPort = address.port;
    redis = await startRedisServer();
  });
  after(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => taken.close(() => resolve()));
    await redis.stop();
  });

  it("uses a Redis that answers, starts one on a free port, goes private when the port is someone else's", async () => {
    const used = await dryRun({
      WIF_TEST_REDIS_PORT: String(redis.port),
      WIF_TEST_PG_URL: "x",
      WIF_TEST_MYSQL_URL: "x",
    });
    assert.match(used.stderr, new RegExp(`Redis: using the one on 127\\.0\\.0\\.1:${redis.port}`));
    assert.match(
      used.stdout,
      new RegExp(`^export WIF_TEST_REDIS_URL=redis://127\\.0\\.0\\.1:${redis.port}$`, "m"),
    );

    const free = await freePort();
    const started = await dryRun({
      WIF_TEST_REDIS_PORT: String(free),
      WIF_TEST_PG_URL: "x",
      WIF_TEST_MYSQL_URL: "x",
    });
    assert.match(
      started.stderr,
      new RegExp(`Redis: nothing on 127\\.0\\.0\\.1:${free} — would start the machine's Redis`),
    );

    const other = await dryRun({
      WIF_TEST_REDIS_PORT: String(takenPort),
      WIF_TEST_PG_URL: "x",
      WIF_TEST_MYSQL_URL: "x",
    });
    assert.match(
      other.stderr,
      new RegExp(`Redis: 127\\.0\\.0\\.1:${takenPort} is taken by something that is not a usable Redis`),
    );
    assert.match(other.stderr, /Redis: would start a private Redis on a free port/);
  });

  it("PostgreSQL and MariaDB on a port that is not theirs, or with no machine service for it: private", async () => {
    const free = await freePort();
    const { stdout, stderr } = await dryRun({
      WIF_TEST_REDIS_URL: "x",
      WIF_TEST_PG_PORT: String(takenPort),
      WIF_TEST_MYSQL_PORT: String(free),
    });
    assert.match(
      stderr,
      new RegExp(
        `PostgreSQL: 127\\.0\\.0\\.1:${takenPort} is taken by something that is not a usable PostgreSQL`,
      ),
    );
    assert.match(stderr, /PostgreSQL: would start a private PostgreSQL/);
    // No machine MariaDB is configured for an arbitrary port: a private one.
    assert.match(stderr, /MariaDB: would start a private MariaDB/);
    assert.match(stdout, /^export WIF_TEST_REDIS_URL=x$/m);
    assert.match(stdout, /^export WIF_TEST_CHROMIUM=\/nonexistent\/chromium$/m);
  });

  it("refuses an unknown argument with one line", async () => {
    await assert.rejects(
      run("bash", ["scripts/test.sh", "--bogus"]),
      (err: { code?: number; stderr?: string }) => {
        assert.equal(err.code, 2);
        assert.equal(err.stderr, "scripts/test.sh: unknown argument --bogus (try --help)\n");
        return true;
      },
    );
  });
});
