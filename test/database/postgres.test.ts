import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { TOKEN_TYPE } from "../../src/mint/types.ts";
import { startTestBroker, type TestBroker } from "../helpers/broker.ts";
import {
  createPgTestDatabase,
  PG_SERVER,
  type PgTestDatabase,
  pgLeaseRoles,
  pgRoleExists,
} from "../helpers/databases.ts";
import { fixtureClaims } from "../helpers/fixtures.ts";
import { type DbCredentials, eventually, policyFor, revoke } from "./database-test-kit.ts";

/**
 * PostgreSQL leases end to end against the machine's PostgreSQL: a workload token → /token → a login role that
 * holds exactly the policy's roles, with VALID UNTIL; expiry and /revoke drop it and cut its open sessions.
 */
describe("postgres target (real PostgreSQL)", () => {
  let db: PgTestDatabase;
  let b: TestBroker;
  const token = () => b.idp.mint(fixtureClaims("github-actions-branch"));

  before(async () => {
    db = await createPgTestDatabase();
    b = await startTestBroker({
      policies: policyFor("pg-ledger", [
        {
          audience: "ledger-ro",
          block: `postgres: { connection: ledger, roles: [${db.readonlyRole}], ttl: 3s }`,
        },
        {
          audience: "ledger-long",
          block: `postgres: { connection: ledger, roles: [${db.readonlyRole}], ttl: 1h }`,
        },
      ]),
      config: {
        targets: {
          postgres: {
            reapInterval: "1s",
            connections: [{ name: "ledger", url: db.url, passwordFile: db.passwordFile }],
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
    assert.equal(body.token_type, "N_A");
    return JSON.parse(body.access_token as string) as DbCredentials;
  }

  it("answers the CONTRACT §3 document; the login holds the granted role and nothing else", async () => {
    const creds = await lease("ledger-long");
    assert.deepEqual(Object.keys(creds), [
      "Version",
      "Engine",
      "Host",
      "Port",
      "Database",
      "Username",
      "Password",
      "Expiration",
    ]);
    assert.equal(creds.Engine, "postgres");
    assert.equal(creds.Host, "127.0.0.1");
    assert.equal(creds.Port, PG_SERVER.port);
    assert.equal(creds.Database, db.database);
    assert.match(creds.Username, /^wif_pg_ledger_[a-z0-9]{12}$/);
    assert.ok(Buffer.byteLength(creds.Username) <= 63);
    assert.ok(creds.Password.length >= 32);

    const su = await db.superuser();
    try {
      const role = await su.query(
        "SELECT rolcanlogin, rolsuper, rolcreaterole, rolcreatedb, rolvaliduntil, rolpassword FROM pg_authid WHERE rolname = $1",
        [creds.Username],
      );
      const r = role.rows[0];
      assert.equal(r.rolcanlogin, true);
      assert.equal(r.rolsuper || r.rolcreaterole || r.rolcreatedb, false);
      // VALID UNTIL is the lease's expiry; the server stores only a SCRAM verifier of the password.
      assert.equal(new Date(r.rolvaliduntil).toISOString(), creds.Expiration);
      assert.match(r.rolpassword, /^SCRAM-SHA-256\$4096:/);
      const members = await su.query(
        "SELECT g.rolname FROM pg_auth_members a JOIN pg_roles g ON g.oid = a.roleid JOIN pg_roles m ON m.oid = a.member WHERE m.rolname = $1",
        [creds.Username],
      );
      assert.deepEqual(
        members.rows.map((x) => x.rolname),
        [db.readonlyRole],
      );
      // The lease row holds a hash, never the password.
      const row = await su.query("SELECT * FROM wif_broker.leases WHERE name = $1", [creds.Username]);
      assert.equal(row.rowCount, 1);
      assert.ok(!JSON.stringify(row.rows[0]).includes(creds.Password));
    } finally {
      await su.end();
    }

    const c = await db.connectAs(creds.Username, creds.Password);
    try {
      assert.equal((await c.query("SELECT count(*)::int AS n FROM items")).rows[0].n, 2);
      await assert.rejects(c.query("INSERT INTO items VALUES (3, 'three')"), /permission denied/);
      await assert.rejects(c.query("SELECT * FROM secrets"), /permission denied/);
      await assert.rejects(c.query("SELECT * FROM wif_broker.leases"), /permission denied/);
      await assert.rejects(c.query("CREATE TABLE mine (x int)"), /permission denied/);
    } finally {
      await c.end();
    }
    await revoke(b.url, creds.Password);
  });

  it("expiry: the reaper drops the role and kills its open session within 5 s of Expiration", async () => {
    const creds = await lease("ledger-ro");
    const c = await db.connectAs(creds.Username, creds.Password);
    let ended = false;
    c.on("end", () => {
      ended = true;
    });
    assert.equal((await c.query("SELECT 1 AS one")).rows[0].one, 1);
    await eventually(async () => !(await pgRoleExists(creds.Username)), Date.parse(creds.Expiration) + 5000);
    await eventually(
      async () =>
        ended ||
        (await c.query("SELECT 1").then(
          () => false,
          () => true,
        )),
      Date.now() + 2000,
    );
    const revokedLines = b.audit.filter((e) => e.event === "lease.revoked" && e.jti === creds.Username);
    assert.equal(revokedLines.length, 1);
    assert.equal(revokedLines[0]?.lease?.revoked_by, "expired");
  });

  it("POST /revoke with the password revokes at once and cuts the session; the password is then unknown (200)", async () => {
    const creds = await lease("ledger-long");
    const c = await db.connectAs(creds.Username, creds.Password);
    await c.query("SELECT 1");
    const started = Date.now();
    const res = await revoke(b.url, creds.Password);
    assert.equal(res.status, 200);
    assert.equal(await pgRoleExists(creds.Username), false);
    await assert.rejects(c.query("SELECT 1"));
    assert.ok(Date.now() - started < 5000);
    assert.equal((await revoke(b.url, creds.Password)).status, 200);
    const lines = b.audit.filter((e) => e.event === "lease.revoked" && e.jti === creds.Username);
    assert.equal(lines.length, 1);
    assert.equal(lines[0]?.lease?.revoked_by, "revoke");
    assert.ok(!(await pgLeaseRoles(db)).includes(creds.Username));
  });

  it("never logs or audits the password", async () => {
    const creds = await lease("ledger-long");
    await revoke(b.url, creds.Password);
    const all = [...b.logs, ...b.audit.map((e) => JSON.stringify(e))].join("\n");
    assert.ok(!all.includes(creds.Password));
    const created = b.audit.find((e) => e.event === "lease.created" && e.jti === creds.Username);
    assert.equal(created?.policy, "pg-ledger");
  });

  it("metrics: leases created, revoked (by expired / revoke), active and the reaper's lag", async () => {
    const text = await (await fetch(`${b.url}/metrics`)).text();
    const value = (series: string) =>
      Number(new RegExp(`^${series} (\\S+)$`, "m").exec(text)?.[1] ?? Number.NaN);
    const labels = 'engine="postgres",connection="ledger"';
    assert.ok(value(`wif_broker_leases_created_total\\{${labels}\\}`) >= 4);
    assert.ok(value(`wif_broker_leases_revoked_total\\{${labels},by="revoke"\\}`) >= 2);
    assert.ok(value(`wif_broker_leases_revoked_total\\{${labels},by="expired"\\}`) >= 1);
    assert.ok(value(`wif_broker_leases_active\\{${labels}\\}`) >= 0);
    assert.ok(value(`wif_broker_lease_reaper_lag_seconds\\{${labels}\\}`) >= 0);
  });
});
