import type { Pool, PoolClient } from "pg";
import type { DatabaseConnectionConfig } from "../../config/database-schema.ts";
import type { AdminPassword } from "./admin-login.ts";
import type {
  DatabaseEndpoint,
  LeaseDatabase,
  LeaseRecord,
  Migration,
  NewLease,
  ReapResult,
} from "./leases.ts";
import { passwordHash } from "./names.ts";
import { scramSha256Verifier } from "./scram.ts";

/**
 * PostgreSQL leases (CONTRACT §8). Creating a lease is one transaction — CREATE ROLE … LOGIN VALID UNTIL, GRANT of
 * the policy's roles, INSERT of the lease row — so a failure anywhere leaves nothing behind. Revoking one is:
 * lock the row (`FOR UPDATE SKIP LOCKED`: an instance never waits for, nor repeats, another's revocation), drop
 * the role (which revokes its memberships), delete the row, and terminate the role's sessions
 * (`pg_terminate_backend`) both before the commit and after it, so a session that logged in meanwhile is cut too:
 * unlike a bare DROP ROLE, no open session outlives its lease.
 *
 * The admin role needs CREATEROLE, ADMIN OPTION on the granted roles (PostgreSQL 16+), membership in
 * `pg_signal_backend` (to terminate sessions of a role it is not a member of) and CREATE on the database (for the
 * lease schema). Identifiers are quoted with the driver's escapeIdentifier, literals with escapeLiteral; the
 * password reaches the server only as a SCRAM-SHA-256 verifier.
 */

export const POSTGRES_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    statements: (s) => [
      `CREATE TABLE ${s}.leases (
         name text PRIMARY KEY,
         policy text NOT NULL,
         subject text NOT NULL,
         roles text[] NOT NULL,
         password_sha256 text NOT NULL UNIQUE,
         request_id text NOT NULL,
         created_at timestamptz NOT NULL DEFAULT now(),
         expires_at timestamptz NOT NULL)`,
      `CREATE INDEX leases_expires_at ON ${s}.leases (expires_at)`,
    ],
  },
];

interface PgDriver {
  Pool: typeof Pool;
  escapeIdentifier(s: string): string;
  escapeLiteral(s: string): string;
}

export interface PostgresOptions {
  password: AdminPassword;
  /** Connect and statement timeout, ms. */
  timeoutMs?: number;
}

export function postgresEndpoint(url: string): DatabaseEndpoint {
  const u = new URL(url);
  return {
    host: u.hostname.replace(/^\[|\]$/g, ""),
    port: u.port ? Number(u.port) : 5432,
    database: decodeURIComponent(u.pathname.slice(1)),
  };
}

export async function createPostgresDatabase(
  conn: DatabaseConnectionConfig,
  options: PostgresOptions,
): Promise<LeaseDatabase<readonly string[]>> {
  const pg = ((await import("pg")) as unknown as { default: PgDriver }).default;
  const timeout = options.timeoutMs ?? 5000;
  const pool = new pg.Pool({
    connectionString: conn.url,
    password: async () => (await options.password.get()) ?? "",
    max: conn.maxConnections,
    connectionTimeoutMillis: timeout,
    query_timeout: timeout,
    idleTimeoutMillis: 10_000,
    application_name: "wif-broker",
  });
  // An idle client's connection dying (database restart) must not crash the process; the next query reconnects.
  pool.on("error", () => {});
  return new PostgresLeases(conn, pool, pg);
}

class PostgresLeases implements LeaseDatabase<readonly string[]> {
  readonly engine = "postgres";
  readonly connection: string;
  readonly endpoint: DatabaseEndpoint;
  readonly #pool: Pool;
  readonly #schema: string;
  #migrated: Promise<void> | undefined;
  /** The driver's quoting: identifiers in "…", literals in '…' (E'…' when they hold a backslash). */
  readonly #q: (name: string) => string;
  readonly #lit: (value: string) => string;

  constructor(conn: DatabaseConnectionConfig, pool: Pool, pg: PgDriver) {
    this.#q = pg.escapeIdentifier;
    this.#lit = pg.escapeLiteral;
    this.connection = conn.name;
    this.endpoint = postgresEndpoint(conn.url);
    this.#pool = pool;
    this.#schema = pg.escapeIdentifier(conn.leaseSchema);
  }

  /** The lease schema, created on first use; migrations run under an advisory lock, once per version. */
  #ready(): Promise<void> {
    this.#migrated ??= this.#transaction(async (c) => {
      await c.query("SELECT pg_advisory_xact_lock(hashtext('wif_broker.migrate'))");
      await c.query(`CREATE SCHEMA IF NOT EXISTS ${this.#schema}`);
      await c.query(
        `CREATE TABLE IF NOT EXISTS ${this.#schema}.schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
      );
      const done = await c.query<{ version: number }>(
        `SELECT version FROM ${this.#schema}.schema_migrations`,
      );
      const applied = new Set(done.rows.map((r) => r.version));
      for (const m of POSTGRES_MIGRATIONS) {
        if (applied.has(m.version)) continue;
        for (const statement of m.statements(this.#schema)) await c.query(statement);
        await c.query(`INSERT INTO ${this.#schema}.schema_migrations (version) VALUES ($1)`, [m.version]);
      }
    }).catch((e) => {
      this.#migrated = undefined;
      throw e;
    });
    return this.#migrated;
  }

  /** A pooled client; a connection lost while checked out rejects the query in flight (and is not re-emitted). */
  async #client(): Promise<PoolClient & { done(broken?: boolean): void }> {
    const c = await this.#pool.connect();
    const ignore = () => {};
    c.on("error", ignore);
    return Object.assign(c, {
      done(broken = false) {
        c.off("error", ignore);
        c.release(broken);
      },
    });
  }

  async #transaction<T>(work: (c: PoolClient) => Promise<T>): Promise<T> {
    const c = await this.#client();
    let broken = false;
    try {
      await c.query("BEGIN");
      const result = await work(c);
      await c.query("COMMIT");
      return result;
    } catch (e) {
      await c.query("ROLLBACK").catch(() => {
        broken = true;
      });
      throw e;
    } finally {
      c.done(broken);
    }
  }

  async create(lease: NewLease, roles: readonly string[]): Promise<void> {
    await this.#ready();
    const until = new Date(lease.expiresAt).toISOString();
    await this.#transaction(async (c) => {
      // VALID UNTIL makes the server itself refuse the password after expiry, even before the reaper runs.
      await c.query(
        `CREATE ROLE ${this.#q(lease.name)} LOGIN INHERIT NOCREATEDB NOCREATEROLE PASSWORD ${this.#lit(
          scramSha256Verifier(lease.password),
        )} VALID UNTIL ${this.#lit(until)}`,
      );
      await c.query(`GRANT ${roles.map(this.#q).join(", ")} TO ${this.#q(lease.name)}`);
      await c.query(
        `INSERT INTO ${this.#schema}.leases (name, policy, subject, roles, password_sha256, request_id, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [
          lease.name,
          lease.policy,
          lease.subject,
          roles,
          passwordHash(lease.password),
          lease.requestId,
          until,
        ],
      );
    });
  }

  async reapExpired(now: number, limit: number): Promise<ReapResult> {
    await this.#ready();
    return this.#revokeWhere("expires_at <= $1 ORDER BY expires_at LIMIT $2", [new Date(now), limit]);
  }

  async revokeByPasswordHash(hash: string): Promise<LeaseRecord | undefined> {
    await this.#ready();
    const r = await this.#revokeWhere("password_sha256 = $1", [hash]);
    return r.revoked[0];
  }

  async #revokeWhere(where: string, params: unknown[]): Promise<ReapResult> {
    const revokedOids: number[] = [];
    const result = await this.#transaction(async (c) => {
      const rows = await c.query<{ name: string; policy: string; subject: string; expires_at: Date }>(
        `SELECT name, policy, subject, expires_at FROM ${this.#schema}.leases WHERE ${where} FOR UPDATE SKIP LOCKED`,
        params,
      );
      const revoked: LeaseRecord[] = [];
      let failed = 0;
      for (const row of rows.rows) {
        const lease = {
          name: row.name,
          policy: row.policy,
          subject: row.subject,
          expiresAt: +row.expires_at,
        };
        const oid = await c.query<{ oid: number }>(
          "SELECT oid::int8 AS oid FROM pg_roles WHERE rolname = $1",
          [row.name],
        );
        const roleOid = oid.rows[0]?.oid;
        try {
          await c.query("SAVEPOINT lease");
          // DROP ROLE revokes every membership the role holds; IF EXISTS: an orphan row is still cleaned.
          await c.query(`DROP ROLE IF EXISTS ${this.#q(row.name)}`);
          await c.query(`DELETE FROM ${this.#schema}.leases WHERE name = $1`, [row.name]);
          await c.query("RELEASE SAVEPOINT lease");
          revoked.push(lease);
        } catch {
          // The role still owns something or holds direct privileges: at least no new login, and retry later.
          await c.query("ROLLBACK TO SAVEPOINT lease");
          await c.query(`ALTER ROLE ${this.#q(row.name)} NOLOGIN`).catch(() => {});
          failed++;
        }
        if (roleOid !== undefined) revokedOids.push(Number(roleOid));
      }
      await this.#terminate(c, revokedOids);
      return { revoked, failed };
    });
    // A session that authenticated between the first termination and the commit is cut now.
    if (revokedOids.length > 0) {
      const c = await this.#client();
      try {
        await this.#terminate(c, revokedOids);
      } finally {
        c.done();
      }
    }
    return result;
  }

  async #terminate(c: PoolClient, oids: number[]): Promise<void> {
    if (oids.length === 0) return;
    await c.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usesysid = ANY($1::oid[]) AND pid <> pg_backend_pid()",
      [oids],
    );
  }

  async activeLeases(): Promise<number> {
    await this.#ready();
    const r = await this.#pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${this.#schema}.leases`);
    return Number(r.rows[0]?.n ?? 0);
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }
}
