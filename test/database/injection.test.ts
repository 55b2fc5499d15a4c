import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { parseConfig } from "../../src/config/load.ts";
import { adminPassword } from "../../src/mint/database/admin-login.ts";
import type { LeaseDatabase } from "../../src/mint/database/leases.ts";
import { leaseName, leasePassword } from "../../src/mint/database/names.ts";
import { createPostgresDatabase } from "../../src/mint/database/postgres.ts";
import { policySchema } from "../../src/policy/schema.ts";
import { createPgTestDatabase, PG_SERVER, type PgTestDatabase, pgRoleExists } from "../helpers/databases.ts";

/**
 * Identifier injection through a policy's PostgreSQL role names, against the real server: whatever the string, it
 * reaches PostgreSQL as one quoted identifier. A name that is no existing role fails the lease as a whole (one
 * transaction: no login, no lease row), and the statement it tries to smuggle in never runs.
 */
describe("PostgreSQL role names: injection refused (property-based, real PostgreSQL)", () => {
  let db: PgTestDatabase;
  let leases: LeaseDatabase<readonly string[]>;
  const canary = `wif_canary_${Date.now().toString(36)}`;

  before(async () => {
    db = await createPgTestDatabase();
    const su = await db.superuser();
    await su.query(`CREATE ROLE ${canary} NOLOGIN`);
    await su.end();
    const config = parseConfig(
      {
        targets: {
          postgres: { connections: [{ name: "ledger", url: db.url, passwordFile: db.passwordFile }] },
        },
      },
      "(test)",
      process.cwd(),
    );
    const conn = config.targets.postgres?.connections[0];
    assert.ok(conn);
    leases = await createPostgresDatabase(conn, {
      password: adminPassword(conn, { ...PG_SERVER, user: db.admin }),
    });
  });
  after(async () => {
    await leases?.close();
    const su = await db?.superuser();
    await su?.query(`DROP ROLE IF EXISTS ${canary}`);
    await su?.end();
    await db?.drop();
  });

  const schemaAccepts = (role: string) =>
    policySchema.safeParse({
      apiVersion: "wif-broker/v1",
      kind: "TrustPolicy",
      metadata: { name: "p" },
      spec: {
        provider: "github",
        match: { repository_id: "1" },
        grant: { targets: [{ audience: "a", postgres: { connection: "ledger", roles: [role] } }] },
      },
    }).success;

  it("hostile role names become one quoted identifier: the lease fails whole, nothing runs, nothing stays", async () => {
    const hostile = fc.oneof(
      fc.constantFrom(
        `x"; DROP ROLE ${canary}; --`,
        `"${canary}"`,
        `${canary}" , "pg_read_server_files`,
        `x' ; DROP ROLE ${canary}; --`,
        "\\",
        `$$; DROP ROLE ${canary}; $$`,
        'pg_signal_backend" TO public; --',
      ),
      fc.string({ unit: "grapheme", minLength: 1, maxLength: 40 }),
    );
    await fc.assert(
      fc.asyncProperty(hostile, async (role) => {
        if (!schemaAccepts(role)) return; // control characters or over 63 bytes: refused at load already
        const name = leaseName("inject", "postgres");
        const lease = {
          name,
          password: leasePassword(),
          policy: "inject",
          subject: "s",
          requestId: "r",
          expiresAt: Date.now() + 60_000,
        };
        await assert.rejects(leases.create(lease, [role]));
        assert.equal(await pgRoleExists(name), false);
        assert.equal(await pgRoleExists(canary), true);
      }),
      { numRuns: 40 },
    );
    assert.equal(await leases.activeLeases(), 0);
  });

  it("role names the schema refuses: control characters and names over 63 bytes", () => {
    assert.equal(schemaAccepts("a\u0000b"), false);
    assert.equal(schemaAccepts("a\nb"), false);
    assert.equal(schemaAccepts("é".repeat(32)), false);
    assert.equal(schemaAccepts("ledger_readonly"), true);
  });
});
