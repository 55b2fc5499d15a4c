import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { DatabaseConnectionConfig } from "../../src/config/database-schema.ts";
import { parseConfig } from "../../src/config/load.ts";
import { adminPassword } from "../../src/mint/database/admin-login.ts";
import type { LeaseDatabase } from "../../src/mint/database/leases.ts";
import { createMysqlDatabase } from "../../src/mint/database/mysql.ts";
import { leaseName, leasePassword } from "../../src/mint/database/names.ts";
import { createPostgresDatabase } from "../../src/mint/database/postgres.ts";
import { parseMysqlGrant } from "../../src/policy/mysql-grant.ts";
import {
  createMysqlTestDatabase,
  createPgTestDatabase,
  MYSQL_SERVER,
  type MysqlTestDatabase,
  PG_SERVER,
  type PgTestDatabase,
} from "../helpers/databases.ts";

/**
 * The database as the coordination point (CONTRACT §8): two lease stores on separate pools — two broker instances —
 * reap the same expired leases concurrently in small batches. Every lease is revoked by exactly one of them.
 */
async function raceReapers(a: LeaseDatabase<unknown>, b: LeaseDatabase<unknown>, now: number) {
  const got = { a: [] as string[], b: [] as string[] };
  const loop = async (db: LeaseDatabase<unknown>, into: string[]) => {
    for (;;) {
      const r = await db.reapExpired(now, 5);
      assert.equal(r.failed, 0);
      into.push(...r.revoked.map((l) => l.name));
      if (r.revoked.length === 0) return;
    }
  };
  await Promise.all([loop(a, got.a), loop(b, got.b)]);
  return got;
}

function connection(engine: "postgres" | "mysql", raw: Record<string, unknown>): DatabaseConnectionConfig {
  const config = parseConfig({ targets: { [engine]: { connections: [raw] } } }, "(test)", process.cwd());
  const conn = config.targets[engine]?.connections[0];
  assert.ok(conn);
  return conn;
}

const newLease = (i: number) => ({
  name: leaseName("race", "mysql"),
  password: leasePassword(),
  policy: "race",
  subject: `s${i}`,
  requestId: `r${i}`,
  expiresAt: Date.now() + 60_000,
});

describe("two reapers on one database never revoke a lease twice", () => {
  let pgDb: PgTestDatabase;
  let myDb: MysqlTestDatabase;
  before(async () => {
    pgDb = await createPgTestDatabase();
    myDb = await createMysqlTestDatabase();
  });
  after(async () => {
    await pgDb?.drop();
    await myDb?.drop();
  });

  it("PostgreSQL: FOR UPDATE SKIP LOCKED splits 60 expired leases between the two, each exactly once", async () => {
    const conn = connection("postgres", { name: "ledger", url: pgDb.url, passwordFile: pgDb.passwordFile });
    const open = () =>
      createPostgresDatabase(conn, {
        password: adminPassword(conn, { ...PG_SERVER, user: pgDb.admin }),
      });
    const [a, b] = [await open(), await open()];
    try {
      const names: string[] = [];
      for (let i = 0; i < 60; i++) {
        const l = newLease(i);
        await a.create(l, [pgDb.readonlyRole]);
        names.push(l.name);
      }
      const got = await raceReapers(a, b, Date.now() + 120_000);
      assert.deepEqual([...got.a, ...got.b].sort(), names.sort());
      assert.ok(got.a.length > 0 && got.b.length > 0, `both reaped (${got.a.length}/${got.b.length})`);
      assert.equal(await a.activeLeases(), 0);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("MySQL/MariaDB: claimed rows split 60 expired leases between the two, each exactly once", async () => {
    const conn = connection("mysql", {
      name: "shop",
      url: myDb.url,
      passwordFile: myDb.passwordFile,
      leaseSchema: myDb.leaseSchema,
    });
    const open = () =>
      createMysqlDatabase(conn, {
        password: adminPassword(conn, { ...MYSQL_SERVER, user: myDb.admin }),
      });
    const [a, b] = [await open(), await open()];
    try {
      const names: string[] = [];
      const grants = [parseMysqlGrant(`SELECT ON ${myDb.database}.items`)];
      for (let i = 0; i < 60; i++) {
        const l = newLease(i);
        await a.create(l, grants);
        names.push(l.name);
      }
      const got = await raceReapers(a, b, Date.now() + 120_000);
      assert.deepEqual([...got.a, ...got.b].sort(), names.sort());
      assert.ok(got.a.length > 0 && got.b.length > 0, `both reaped (${got.a.length}/${got.b.length})`);
      assert.equal(await a.activeLeases(), 0);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
