import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { TOKEN_TYPE } from "../../src/mint/types.ts";
import { startTestBroker, type TestBroker } from "../helpers/broker.ts";
import {
  createMysqlTestDatabase,
  MYSQL_SERVER,
  type MysqlTestDatabase,
  mysqlUserExists,
} from "../helpers/databases.ts";
import { fixtureClaims } from "../helpers/fixtures.ts";
import { type DbCredentials, eventually, policyFor, revoke } from "./database-test-kit.ts";

/**
 * MySQL/MariaDB leases end to end against the machine's MariaDB: an account 'name'@'%' with exactly the policy's
 * grants; expiry and /revoke drop it and KILL its open sessions.
 */
describe("mysql target (real MariaDB)", () => {
  let db: MysqlTestDatabase;
  let b: TestBroker;
  const token = () => b.idp.mint(fixtureClaims("github-actions-branch"));

  before(async () => {
    db = await createMysqlTestDatabase();
    b = await startTestBroker({
      policies: policyFor("my-shop", [
        {
          audience: "shop-ro",
          block: `mysql: { connection: shop, grants: ["SELECT ON ${db.database}.items"], ttl: 3s }`,
        },
        {
          audience: "shop-rw",
          block: `mysql: { connection: shop, grants: ["select, insert ON \`${db.database}\`.*"], ttl: 1h }`,
        },
      ]),
      config: {
        targets: {
          mysql: {
            reapInterval: "1s",
            connections: [
              { name: "shop", url: db.url, passwordFile: db.passwordFile, leaseSchema: db.leaseSchema },
            ],
          },
        },
      },
    });
  });
  after(async () => {
    await b?.close();
    await db?.drop();
  });

  async function lease(audience: string): Promise<DbCredentials> {
    const res = await b.exchange(token(), audience);
    assert.equal(res.status, 200, await res.clone().text());
    const body = (await res.json()) as Record<string, unknown>;
    assert.equal(body.issued_token_type, TOKEN_TYPE.databaseCredentials);
    return JSON.parse(body.access_token as string) as DbCredentials;
  }

  it("creates 'name'@'%' that logs in with the password and holds only the granted privileges", async () => {
    const creds = await lease("shop-ro");
    assert.equal(creds.Engine, "mysql");
    assert.equal(creds.Port, MYSQL_SERVER.port);
    assert.equal(creds.Database, db.database);
    assert.match(creds.Username, /^wif_my_shop_[a-z0-9]{12}$/);
    assert.ok(creds.Username.length <= 32);
    const root = await db.root();
    try {
      const [hosts] = await root.query("SELECT Host FROM mysql.user WHERE User = ?", [creds.Username]);
      assert.deepEqual(hosts, [{ Host: "%" }]);
      const [grants] = await root.query(`SHOW GRANTS FOR ?@'%'`, [creds.Username]);
      const text = (grants as Array<Record<string, string>>).map((g) => Object.values(g)[0]).join("\n");
      assert.match(text, new RegExp(`GRANT SELECT ON \`${db.database}\`\\.\`items\``));
      const [row] = await root.query(`SELECT * FROM ${db.leaseSchema}.leases WHERE name = ?`, [
        creds.Username,
      ]);
      assert.ok(!JSON.stringify(row).includes(creds.Password));
    } finally {
      await root.end();
    }
    await assert.rejects(db.connectAs(creds.Username, "wrong-password"), /Access denied/);
    const c = await db.connectAs(creds.Username, creds.Password);
    try {
      const [rows] = await c.query("SELECT COUNT(*) AS n FROM items");
      assert.equal(Number((rows as Array<{ n: number }>)[0]?.n), 2);
      await assert.rejects(c.query("INSERT INTO items VALUES (3, 'three')"), /denied/);
      await assert.rejects(c.query("SELECT * FROM secrets"), /denied/);
      await assert.rejects(c.query(`SELECT * FROM ${db.leaseSchema}.leases`), /denied/);
    } finally {
      await c.end();
    }
  });

  it("a database-level grant on a name with _ means that database only (the wildcard is escaped)", async () => {
    const creds = await lease("shop-rw");
    const root = await db.root();
    try {
      const [grants] = await root.query(`SHOW GRANTS FOR ?@'%'`, [creds.Username]);
      const text = (grants as Array<Record<string, string>>).map((g) => Object.values(g)[0]).join("\n");
      assert.ok(text.includes(`GRANT SELECT, INSERT ON \`${db.database.replace(/_/g, "\\_")}\`.*`), text);
    } finally {
      await root.end();
    }
    const c = await db.connectAs(creds.Username, creds.Password);
    await c.query("INSERT INTO items VALUES (3, 'three')");
    await c.end();
    assert.equal((await revoke(b.url, creds.Password)).status, 200);
    assert.equal(await mysqlUserExists(creds.Username), false);
  });

  it("expiry: the reaper drops the account and kills its open session within 5 s of Expiration", async () => {
    const creds = await lease("shop-ro");
    const c = await db.connectAs(creds.Username, creds.Password);
    c.on("error", () => {});
    await c.query("SELECT 1");
    await eventually(
      async () => !(await mysqlUserExists(creds.Username)),
      Date.parse(creds.Expiration) + 5000,
    );
    await assert.rejects(c.query("SELECT 1"));
    const lines = b.audit.filter((e) => e.event === "lease.revoked" && e.jti === creds.Username);
    assert.equal(lines.length, 1);
  });

  it("POST /revoke kills the session at once; no password in any log line", async () => {
    const creds = await lease("shop-rw");
    const c = await db.connectAs(creds.Username, creds.Password);
    c.on("error", () => {});
    await c.query("SELECT 1");
    assert.equal((await revoke(b.url, creds.Password)).status, 200);
    assert.equal(await mysqlUserExists(creds.Username), false);
    await assert.rejects(c.query("SELECT 1"));
    const all = [...b.logs, ...b.audit.map((e) => JSON.stringify(e))].join("\n");
    assert.ok(!all.includes(creds.Password));
  });
});
