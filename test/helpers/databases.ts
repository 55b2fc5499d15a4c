import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mysql from "mysql2/promise";
import pg from "pg";
import { testMysqlUrl, testPostgresUrl } from "./test-services.ts";

/**
 * Each database test gets its own database and admin role on the PostgreSQL (superuser postgres) and MariaDB (root)
 * that scripts/test.sh found or started — WIF_TEST_PG_URL / WIF_TEST_MYSQL_URL, by default the machine's own on
 * 127.0.0.1:5432 and :3306 — created here and dropped by `drop()`, with the privileges the README documents for the
 * admin login, and no more. A missing server fails the test; nothing skips.
 */
export const PG_SUPER = testPostgresUrl;
const pgUrl = new URL(testPostgresUrl);
/** Where the test PostgreSQL listens (what a connection config names). */
export const PG_SERVER = { host: pgUrl.hostname, port: Number(pgUrl.port || 5432) };
const PG_SUPERUSER = decodeURIComponent(pgUrl.username || "postgres");
const mysqlUrl = new URL(testMysqlUrl);
/** Where the test MariaDB listens. */
export const MYSQL_SERVER = { host: mysqlUrl.hostname, port: Number(mysqlUrl.port || 3306) };
export const MYSQL_ROOT = { ...MYSQL_SERVER, user: decodeURIComponent(mysqlUrl.username || "root") };

/** A PostgreSQL URL on the test server. */
const pgAt = (user: string, database: string, password?: string) =>
  `postgres://${encodeURIComponent(user)}${password === undefined ? "" : `:${encodeURIComponent(password)}`}@${PG_SERVER.host}:${PG_SERVER.port}/${database}`;

const suffix = () => randomBytes(5).toString("hex");

export interface PgTestDatabase {
  database: string;
  admin: string;
  /** A NOLOGIN role with SELECT on `items` only. */
  readonlyRole: string;
  url: string;
  passwordFile: string;
  /** A superuser client on the test database. */
  superuser(): Promise<pg.Client>;
  /** Connects as a lease login (on this machine's trust-auth loopback the password is not what admits). */
  connectAs(user: string, password: string): Promise<pg.Client>;
  drop(): Promise<void>;
}

async function pgClient(url: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url });
  c.on("error", () => {});
  await c.connect();
  return c;
}

export async function createPgTestDatabase(): Promise<PgTestDatabase> {
  const s = suffix();
  const database = `wif_t_${s}`;
  const admin = `wif_admin_${s}`;
  const readonlyRole = `wif_ro_${s}`;
  const adminPassword = randomBytes(12).toString("hex");
  const root = await pgClient(PG_SUPER);
  try {
    await root.query(`CREATE ROLE ${admin} LOGIN CREATEROLE PASSWORD '${adminPassword}'`);
    await root.query(`GRANT pg_signal_backend TO ${admin}`);
    await root.query(`CREATE ROLE ${readonlyRole} NOLOGIN`);
    await root.query(`GRANT ${readonlyRole} TO ${admin} WITH ADMIN OPTION`);
    await root.query(`CREATE DATABASE ${database} OWNER ${admin}`);
  } finally {
    await root.end();
  }
  const su = await pgClient(pgAt(PG_SUPERUSER, database));
  try {
    await su.query("CREATE TABLE items (id int PRIMARY KEY, name text)");
    await su.query("CREATE TABLE secrets (id int PRIMARY KEY, value text)");
    await su.query("INSERT INTO items VALUES (1, 'one'), (2, 'two')");
    await su.query("INSERT INTO secrets VALUES (1, 'hidden')");
    await su.query(`GRANT SELECT ON items TO ${readonlyRole}`);
  } finally {
    await su.end();
  }
  const dir = mkdtempSync(join(tmpdir(), "wif-pg-"));
  const passwordFile = join(dir, "admin-password");
  writeFileSync(passwordFile, `${adminPassword}\n`, { mode: 0o600 });
  return {
    database,
    admin,
    readonlyRole,
    url: pgAt(admin, database),
    passwordFile,
    superuser: () => pgClient(pgAt(PG_SUPERUSER, database)),
    connectAs: (user, password) => pgClient(pgAt(user, database, password)),
    async drop() {
      const r = await pgClient(PG_SUPER);
      try {
        // Lease roles the test left behind (the leases table names them), then the database and its roles.
        const leftovers = await r.query<{ rolname: string }>(
          "SELECT rolname FROM pg_roles WHERE rolname LIKE 'wif\\_%' AND oid IN (SELECT member FROM pg_auth_members WHERE roleid = (SELECT oid FROM pg_roles WHERE rolname = $1))",
          [readonlyRole],
        );
        await r.query(
          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
          [database],
        );
        await r.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
        for (const { rolname } of leftovers.rows)
          if (rolname !== admin) await r.query(`DROP ROLE IF EXISTS "${rolname}"`);
        await r.query(`DROP ROLE IF EXISTS ${readonlyRole}`);
        await r.query(`DROP ROLE IF EXISTS ${admin}`);
      } finally {
        await r.end();
      }
    },
  };
}

/** Lease roles (members of the test's read-only role) that exist right now. */
export async function pgLeaseRoles(db: PgTestDatabase): Promise<string[]> {
  const r = await pgClient(PG_SUPER);
  try {
    const rows = await r.query<{ rolname: string }>(
      "SELECT m.rolname FROM pg_auth_members a JOIN pg_roles m ON m.oid = a.member JOIN pg_roles g ON g.oid = a.roleid WHERE g.rolname = $1 AND m.rolname <> $2",
      [db.readonlyRole, db.admin],
    );
    return rows.rows.map((x) => x.rolname);
  } finally {
    await r.end();
  }
}

export async function pgRoleExists(name: string): Promise<boolean> {
  const r = await pgClient(PG_SUPER);
  try {
    return (await r.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [name])).rowCount === 1;
  } finally {
    await r.end();
  }
}

export interface MysqlTestDatabase {
  database: string;
  admin: string;
  leaseSchema: string;
  url: string;
  passwordFile: string;
  root(): Promise<mysql.Connection>;
  connectAs(user: string, password: string): Promise<mysql.Connection>;
  drop(): Promise<void>;
}

export async function createMysqlTestDatabase(): Promise<MysqlTestDatabase> {
  const s = suffix();
  const database = `wif_t_${s}`;
  const leaseSchema = `wif_broker_${s}`;
  const admin = `wif_admin_${s}`;
  const adminPassword = randomBytes(12).toString("hex");
  const root = await mysql.createConnection(MYSQL_ROOT);
  try {
    await root.query(`CREATE DATABASE ${database}`);
    await root.query(`CREATE TABLE ${database}.items (id INT PRIMARY KEY, name TEXT)`);
    await root.query(`CREATE TABLE ${database}.secrets (id INT PRIMARY KEY, value TEXT)`);
    await root.query(`INSERT INTO ${database}.items VALUES (1, 'one'), (2, 'two')`);
    await root.query(`INSERT INTO ${database}.secrets VALUES (1, 'hidden')`);
    await root.query("CREATE USER ?@'%' IDENTIFIED BY ?", [admin, adminPassword]);
    await root.query(`GRANT CREATE USER, PROCESS, CONNECTION ADMIN ON *.* TO ?@'%'`, [admin]);
    await root.query(`GRANT ALL ON \`${database.replace(/_/g, "\\_")}\`.* TO ?@'%' WITH GRANT OPTION`, [
      admin,
    ]);
    await root.query(`GRANT ALL ON \`${leaseSchema.replace(/_/g, "\\_")}\`.* TO ?@'%'`, [admin]);
  } finally {
    await root.end();
  }
  const dir = mkdtempSync(join(tmpdir(), "wif-mysql-"));
  const passwordFile = join(dir, "admin-password");
  writeFileSync(passwordFile, `${adminPassword}\n`, { mode: 0o600 });
  return {
    database,
    admin,
    leaseSchema,
    url: `mysql://${encodeURIComponent(admin)}@${MYSQL_SERVER.host}:${MYSQL_SERVER.port}/${database}`,
    passwordFile,
    root: () => mysql.createConnection(MYSQL_ROOT),
    connectAs: (user, password) => mysql.createConnection({ ...MYSQL_SERVER, user, password, database }),
    async drop() {
      const r = await mysql.createConnection(MYSQL_ROOT);
      try {
        const [rows] = await r
          .query(`SELECT name FROM ${leaseSchema}.leases`)
          .catch(() => [[] as Array<{ name: string }>]);
        for (const { name } of rows as Array<{ name: string }>)
          await r.query("DROP USER IF EXISTS ?@'%'", [name]);
        await r.query(`DROP DATABASE IF EXISTS ${database}`);
        await r.query(`DROP DATABASE IF EXISTS ${leaseSchema}`);
        await r.query("DROP USER IF EXISTS ?@'%'", [admin]);
      } finally {
        await r.end();
      }
    },
  };
}

export async function mysqlUserExists(name: string): Promise<boolean> {
  const r = await mysql.createConnection(MYSQL_ROOT);
  try {
    const [rows] = await r.query("SELECT 1 FROM mysql.user WHERE User = ?", [name]);
    return (rows as unknown[]).length > 0;
  } finally {
    await r.end();
  }
}
