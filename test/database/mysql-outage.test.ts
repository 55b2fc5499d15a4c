import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { parseConfig } from "../../src/config/load.ts";
import { adminPassword } from "../../src/mint/database/admin-login.ts";
import { createMysqlDatabase } from "../../src/mint/database/mysql.ts";
import { startTestBroker, type TestBroker } from "../helpers/broker.ts";
import {
  createMysqlTestDatabase,
  MYSQL_SERVER,
  type MysqlTestDatabase,
  mysqlUserExists,
} from "../helpers/databases.ts";
import { fixtureClaims } from "../helpers/fixtures.ts";
import { startTcpProxy, type TcpProxy } from "../helpers/tcp-proxy.ts";
import { policyFor } from "./database-test-kit.ts";

/**
 * MySQL/MariaDB outages (CONTRACT §8: database down → 503, nothing half-created stays behind). DDL there is not
 * transactional, so the broker cleans up a failed creation itself, and the reaper removes what a creation that
 * could not even clean up left (a `creating` lease row older than a minute).
 */
describe("mysql target: outages leave nothing behind (real MariaDB)", () => {
  let db: MysqlTestDatabase;
  let proxy: TcpProxy;
  let b: TestBroker;
  let brokerClosed = false;

  const users = async (): Promise<string[]> => {
    const root = await db.root();
    try {
      const [rows] = await root.query("SELECT User FROM mysql.user WHERE User LIKE 'wif\\_my\\_down\\_%'");
      return (rows as Array<{ User: string }>).map((r) => r.User);
    } finally {
      await root.end();
    }
  };
  const leaseRows = async (): Promise<number> => {
    const root = await db.root();
    try {
      const [rows] = await root.query(`SELECT COUNT(*) AS n FROM ${db.leaseSchema}.leases`);
      return Number((rows as Array<{ n: number }>)[0]?.n);
    } finally {
      await root.end();
    }
  };

  before(async () => {
    db = await createMysqlTestDatabase();
    proxy = await startTcpProxy(MYSQL_SERVER.port, MYSQL_SERVER.host);
    b = await startTestBroker({
      policies: policyFor("my-down", [
        {
          audience: "shop",
          block: `mysql: { connection: shop, grants: ["SELECT ON ${db.database}.items"], ttl: 1h }`,
        },
      ]),
      config: {
        targets: {
          mysql: {
            reapInterval: "1s",
            connections: [
              {
                name: "shop",
                url: `mysql://${db.admin}@127.0.0.1:${proxy.port}/${db.database}`,
                passwordFile: db.passwordFile,
                leaseSchema: db.leaseSchema,
              },
            ],
          },
        },
      },
    });
  });
  after(async () => {
    if (!brokerClosed) await b?.close();
    await proxy?.close();
    await db?.drop();
  });

  it("the connection cut at GRANT (after CREATE USER ran) → 503; the broker removes the account and the row", async () => {
    const ok = await b.exchange(b.idp.mint(fixtureClaims("github-actions-branch")), "shop");
    assert.equal(ok.status, 200);
    const before = await users();
    const rows = await leaseRows();
    proxy.cutOn("GRANT");
    const res = await b.exchange(b.idp.mint(fixtureClaims("github-actions-branch")), "shop");
    assert.equal(res.status, 503);
    assert.ok(res.headers.get("retry-after"));
    assert.deepEqual(await users(), before);
    assert.equal(await leaseRows(), rows);
  });

  it("the database gone entirely → 503 at once, and /revoke of a password → 503", async () => {
    proxy.down();
    try {
      const res = await b.exchange(b.idp.mint(fixtureClaims("github-actions-branch")), "shop");
      assert.equal(res.status, 503);
      const revoke = await fetch(`${b.url}/revoke`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ token: "A".repeat(43) }).toString(),
      });
      assert.equal(revoke.status, 503);
    } finally {
      proxy.restore();
    }
  });

  it("an orphan of a creation that could not clean up (a `creating` row) is removed by the reaper", async () => {
    // This test's reaper alone: the broker's own would race it for the row.
    await b.close();
    brokerClosed = true;
    const config = parseConfig(
      {
        targets: {
          mysql: {
            connections: [
              { name: "shop", url: db.url, passwordFile: db.passwordFile, leaseSchema: db.leaseSchema },
            ],
          },
        },
      },
      "(test)",
      process.cwd(),
    );
    const conn = config.targets.mysql?.connections[0];
    assert.ok(conn);
    const leases = await createMysqlDatabase(conn, {
      password: adminPassword(conn, { ...MYSQL_SERVER, user: db.admin }),
    });
    const root = await db.root();
    try {
      const name = "wif_my_down_orphan0000";
      await root.query("CREATE USER ?@'%' IDENTIFIED BY 'x-orphan-password'", [name]);
      await root.query(
        `INSERT INTO ${db.leaseSchema}.leases (name, policy, subject, grants, password_sha256, request_id, state, created_at, expires_at) VALUES (?, 'my-down', 's', '[]', REPEAT('0', 64), 'r', 'creating', ?, ?)`,
        [name, Date.now() - 120_000, Date.now() + 3_600_000],
      );
      const r = await leases.reapExpired(Date.now(), 100);
      assert.deepEqual(
        r.revoked.map((l) => l.name),
        [name],
      );
      assert.equal(await mysqlUserExists(name), false);
    } finally {
      await root.end();
      await leases.close();
    }
  });
});
