import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { DemoIssuer } from "../../src/dev/demo-issuer.ts";
import { BROKER_ISSUER, startTestBroker, type TestBroker } from "../helpers/broker.ts";
import { startCli } from "../helpers/cli.ts";
import {
  createPgTestDatabase,
  PG_SERVER,
  PG_SUPER,
  type PgTestDatabase,
  pgRoleExists,
} from "../helpers/databases.ts";
import { fixtureClaims } from "../helpers/fixtures.ts";
import { startTcpProxy, type TcpProxy } from "../helpers/tcp-proxy.ts";
import { type DbCredentials, eventually, policyFor, revoke } from "./database-test-kit.ts";

/**
 * The lease lifecycle across broker instances, restarts and database outages (CONTRACT §8), against the machine's
 * PostgreSQL. The database is the coordination point: several brokers never revoke one lease twice; a lease
 * outlives a killed broker and is revoked by the next one; an outage answers 503 and leaves nothing behind.
 */

async function rolesLike(prefix: string): Promise<string[]> {
  const c = new pg.Client({ connectionString: PG_SUPER });
  await c.connect();
  try {
    const r = await c.query<{ rolname: string }>(
      "SELECT rolname FROM pg_roles WHERE starts_with(rolname, $1)",
      [prefix],
    );
    return r.rows.map((x) => x.rolname);
  } finally {
    await c.end();
  }
}

async function leaseRows(db: PgTestDatabase): Promise<number> {
  const c = await db.superuser();
  try {
    const r = await c
      .query("SELECT count(*)::int AS n FROM wif_broker.leases")
      .catch(() => ({ rows: [{ n: 0 }] }));
    return r.rows[0].n as number;
  } finally {
    await c.end();
  }
}

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

const errorLines = (lines: string[]) => lines.filter((l) => /"level":("error"|50)/.test(l));

function pgConfig(db: PgTestDatabase, url = db.url, extra: Array<Record<string, unknown>> = []) {
  return {
    targets: {
      postgres: {
        reapInterval: "1s",
        connections: [{ name: "ledger", url, passwordFile: db.passwordFile }, ...extra],
      },
    },
  };
}

describe("database leases: outages, denied requests, several brokers, restarts (real PostgreSQL)", () => {
  let db: PgTestDatabase;
  let idp: DemoIssuer;
  const token = (over: Record<string, unknown> = {}) =>
    idp.mint(fixtureClaims("github-actions-branch", over));

  before(async () => {
    db = await createPgTestDatabase();
    idp = await DemoIssuer.start();
  });
  after(async () => {
    await idp?.close();
    await db?.drop();
  });

  describe("database down", () => {
    let proxy: TcpProxy;
    let b: TestBroker;
    before(async () => {
      proxy = await startTcpProxy(PG_SERVER.port, PG_SERVER.host);
      const gone = `postgres://${db.admin}@127.0.0.1:${await closedPort()}/${db.database}`;
      b = await startTestBroker({
        idp,
        policies: policyFor("pg-down", [
          {
            audience: "via-proxy",
            block: `postgres: { connection: ledger, roles: [${db.readonlyRole}], ttl: 1h }`,
          },
          {
            audience: "closed-port",
            block: `postgres: { connection: gone, roles: [${db.readonlyRole}], ttl: 1h }`,
          },
        ]),
        config: pgConfig(db, `postgres://${db.admin}@127.0.0.1:${proxy.port}/${db.database}`, [
          { name: "gone", url: gone, passwordFile: db.passwordFile },
        ]),
      });
    });
    after(async () => {
      await b?.close();
      await proxy?.close();
    });

    it("a database on a closed port → 503 temporarily_unavailable with Retry-After", async () => {
      const res = await b.exchange(token(), "closed-port");
      assert.equal(res.status, 503);
      assert.ok(Number(res.headers.get("retry-after")) >= 1);
      assert.equal(((await res.json()) as { error: string }).error, "temporarily_unavailable");
      assert.equal(b.audit.at(-1)?.reason, "database.unavailable");
    });

    it("the connection cut mid-transaction (at GRANT) → 503, and no role and no lease row stay behind", async () => {
      const before = await rolesLike("wif_pg_down_");
      const rows = await leaseRows(db);
      proxy.cutOn("GRANT");
      const res = await b.exchange(token(), "via-proxy");
      assert.equal(res.status, 503);
      assert.deepEqual(await rolesLike("wif_pg_down_"), before);
      assert.equal(await leaseRows(db), rows);
      // The database is back: the next exchange works through the same pool.
      const ok = await b.exchange(token(), "via-proxy");
      assert.equal(ok.status, 200);
      const creds = JSON.parse(((await ok.json()) as { access_token: string }).access_token) as DbCredentials;
      assert.equal((await revoke(b.url, creds.Password)).status, 200);
    });

    it("/revoke with a password while the database is down → 503 with Retry-After; no password logged", async () => {
      const ok = await b.exchange(token(), "via-proxy");
      const creds = JSON.parse(((await ok.json()) as { access_token: string }).access_token) as DbCredentials;
      proxy.down();
      try {
        const res = await revoke(b.url, creds.Password);
        assert.equal(res.status, 503);
        assert.ok(res.headers.get("retry-after"));
      } finally {
        proxy.restore();
      }
      assert.equal((await revoke(b.url, creds.Password)).status, 200);
      assert.equal(await pgRoleExists(creds.Username), false);
      const all = [...b.logs, ...b.audit.map((e) => JSON.stringify(e))].join("\n");
      assert.ok(!all.includes(creds.Password));
    });
  });

  it("a denied request creates nothing: no role, no lease row", async () => {
    const b = await startTestBroker({
      idp,
      policies: policyFor("pg-deny", [
        {
          audience: "ledger",
          block: `postgres: { connection: ledger, roles: [${db.readonlyRole}], ttl: 1h }`,
        },
      ]),
      config: pgConfig(db),
    });
    try {
      const rows = await leaseRows(db);
      const res = await b.exchange(token({ repository_id: "999" }), "ledger");
      assert.equal(res.status, 400);
      const wrongTarget = await b.exchange(token(), "not-a-target");
      assert.equal(wrongTarget.status, 400);
      assert.deepEqual(await rolesLike("wif_pg_deny_"), []);
      assert.equal(await leaseRows(db), rows);
    } finally {
      await b.close();
    }
  });

  it("two brokers, many leases: each lease is revoked exactly once, and nothing logs at error level", async () => {
    const policies = policyFor("pg-two", [
      { audience: "ledger", block: `postgres: { connection: ledger, roles: [${db.readonlyRole}], ttl: 2s }` },
    ]);
    const brokers = [
      await startTestBroker({ idp, policies, config: pgConfig(db) }),
      await startTestBroker({ idp, policies, config: pgConfig(db) }),
    ];
    try {
      const names: string[] = [];
      await Promise.all(
        Array.from({ length: 40 }, async (_, i) => {
          const res = await (brokers[i % 2] as TestBroker).exchange(token(), "ledger");
          assert.equal(res.status, 200);
          names.push(
            (JSON.parse(((await res.json()) as { access_token: string }).access_token) as DbCredentials)
              .Username,
          );
        }),
      );
      await eventually(
        async () => (await rolesLike("wif_pg_two_")).length === 0,
        Date.now() + 12_000,
        "all revoked",
      );
      const revoked = brokers.flatMap((b) =>
        b.audit.filter((e) => e.event === "lease.revoked").map((e) => e.jti),
      );
      assert.deepEqual([...revoked].sort(), [...names].sort());
      assert.deepEqual(
        brokers.flatMap((b) => errorLines(b.logs)),
        [],
      );
    } finally {
      await Promise.all(brokers.map((b) => b.close()));
    }
  });

  it("a broker killed mid-lease: the next broker revokes the overdue leases within 10 s of being ready", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wif-pg-restart-"));
    writeFileSync(
      join(dir, "policies.yaml"),
      policyFor("pg-restart", [
        {
          audience: "ledger",
          block: `postgres: { connection: ledger, roles: [${db.readonlyRole}], ttl: 2s }`,
        },
      ]),
    );
    const config = {
      issuer: BROKER_ISSUER,
      listen: { host: "127.0.0.1", port: 0 },
      policies: join(dir, "policies.yaml"),
      providers: [{ name: "github", issuer: idp.url, allowInsecureHttp: true }],
      ...pgConfig(db),
    };
    writeFileSync(join(dir, "config.yaml"), JSON.stringify(config));
    const first = startCli(["serve", "--config", join(dir, "config.yaml")], /wif-broker listening/);
    const stderr = await first.started;
    const port = Number(/"port":(\d+)/.exec(stderr)?.[1]);
    const names: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`http://127.0.0.1:${port}/token`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          grant_type: "urn:ietf:params:oauth:grant-type:token-exchange",
          subject_token: token(),
          subject_token_type: "urn:ietf:params:oauth:token-type:jwt",
          audience: "ledger",
        }),
      });
      assert.equal(res.status, 200);
      names.push(
        (JSON.parse(((await res.json()) as { access_token: string }).access_token) as DbCredentials).Username,
      );
    }
    first.child.kill("SIGKILL");
    await new Promise((r) => first.child.once("exit", r));
    await sleep(3000);
    // Every broker was down at expiry: the logins are still there (VALID UNTIL already refuses them).
    for (const n of names) assert.equal(await pgRoleExists(n), true);

    const second = await startTestBroker({
      idp,
      policies: readFileSync(join(dir, "policies.yaml"), "utf8"),
      config: pgConfig(db),
    });
    const ready = Date.now();
    try {
      await eventually(
        async () => (await Promise.all(names.map(pgRoleExists))).every((e) => !e),
        ready + 10_000,
        "revoked after restart",
      );
      assert.equal(second.audit.filter((e) => e.event === "lease.revoked").length, 3);
    } finally {
      await second.close();
    }
  });

  it("SIGTERM while leases are being reaped logs nothing at error level", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wif-pg-term-"));
    writeFileSync(
      join(dir, "policies.yaml"),
      policyFor("pg-term", [
        {
          audience: "ledger",
          block: `postgres: { connection: ledger, roles: [${db.readonlyRole}], ttl: 1s }`,
        },
      ]),
    );
    writeFileSync(
      join(dir, "config.yaml"),
      JSON.stringify({
        issuer: BROKER_ISSUER,
        listen: { host: "127.0.0.1", port: 0 },
        policies: join(dir, "policies.yaml"),
        providers: [{ name: "github", issuer: idp.url, allowInsecureHttp: true }],
        ...pgConfig(db),
      }),
    );
    const s = startCli(["serve", "--config", join(dir, "config.yaml")], /wif-broker listening/);
    const port = Number(/"port":(\d+)/.exec(await s.started)?.[1]);
    for (let i = 0; i < 5; i++) {
      await fetch(`http://127.0.0.1:${port}/token`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          grant_type: "urn:ietf:params:oauth:grant-type:token-exchange",
          subject_token: token(),
          subject_token_type: "urn:ietf:params:oauth:token-type:jwt",
          audience: "ledger",
        }),
      });
    }
    await sleep(1100);
    const code = await s.stop();
    assert.equal(code, 0);
    assert.deepEqual(errorLines(s.output().stderr.split("\n")), []);
    // Whatever this broker did not get to is revoked by the next one.
    const next = await startTestBroker({
      idp,
      policies: readFileSync(join(dir, "policies.yaml"), "utf8"),
      config: pgConfig(db),
    });
    try {
      await eventually(async () => (await rolesLike("wif_pg_term_")).length === 0, Date.now() + 10_000);
    } finally {
      await next.close();
    }
  });
});
