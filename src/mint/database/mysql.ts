import type { Pool, PoolConnection, RowDataPacket } from "mysql2/promise";
import type { DatabaseConnectionConfig } from "../../config/database-schema.ts";
import { type MysqlGrant, renderGrantObject } from "../../policy/mysql-grant.ts";
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

/**
 * MySQL 8 and MariaDB 10.11+ leases (CONTRACT §8). DDL commits implicitly there, so a lease cannot be one
 * transaction: the lease row is written first (state `creating`), then CREATE USER 'name'@'%' and the GRANTs,
 * then the row turns `active`. A failure cleans up at once when it can; when it cannot (the database went away),
 * the reaper finds the `creating` row and removes whatever was created.
 *
 * Revocation claims rows in a short transaction (`FOR UPDATE SKIP LOCKED`, then `claimed_until`), because the
 * DDL that follows would commit and release a row lock: a claim is what keeps two instances from revoking the
 * same lease, and an instance that dies mid-revocation lets its claim lapse so another one finishes. Then: lock
 * the account (no new logins), KILL its sessions, DROP USER (which revokes every grant), KILL again (a session
 * that got in meanwhile), delete the row.
 *
 * The admin account needs CREATE USER, PROCESS, CONNECTION ADMIN (MariaDB) / CONNECTION_ADMIN (MySQL 8) to kill
 * other accounts' sessions, the granted privileges WITH GRANT OPTION, and all privileges on the lease database.
 */
export const MYSQL_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    statements: (s) => [
      `CREATE TABLE IF NOT EXISTS ${s}.leases (
         name VARCHAR(32) CHARACTER SET ascii NOT NULL PRIMARY KEY,
         policy VARCHAR(255) NOT NULL,
         subject TEXT NOT NULL,
         grants TEXT NOT NULL,
         password_sha256 CHAR(64) CHARACTER SET ascii NOT NULL UNIQUE,
         request_id VARCHAR(64) NOT NULL,
         state ENUM('creating', 'active') NOT NULL,
         claimed_until BIGINT NULL,
         created_at BIGINT NOT NULL,
         expires_at BIGINT NOT NULL,
         INDEX leases_expires_at (expires_at)
       ) ENGINE=InnoDB`,
    ],
  },
];

/** A `creating` row older than this is an orphan of a failed creation. */
const ORPHAN_AFTER_MS = 60_000;
/** How long a revoking instance holds its claim before another may take over. */
const CLAIM_MS = 60_000;
const DEFAULT_REUSE_MS = 10 * 60_000;

export interface MysqlOptions {
  password: AdminPassword;
  timeoutMs?: number;
}

interface Mysql2 {
  createPool(o: Record<string, unknown>): Pool;
}

export function mysqlEndpoint(url: string): DatabaseEndpoint & { user: string } {
  const u = new URL(url);
  return {
    host: u.hostname.replace(/^\[|\]$/g, ""),
    port: u.port ? Number(u.port) : 3306,
    database: decodeURIComponent(u.pathname.slice(1)),
    user: decodeURIComponent(u.username),
  };
}

export async function createMysqlDatabase(
  conn: DatabaseConnectionConfig,
  options: MysqlOptions,
): Promise<LeaseDatabase<readonly MysqlGrant[]>> {
  const mysql = (await import("mysql2/promise")) as unknown as { default: Mysql2 };
  return new MysqlLeases(conn, options, mysql.default);
}

const id = (name: string) => `\`${name.replaceAll("`", "``")}\``;

class MysqlLeases implements LeaseDatabase<readonly MysqlGrant[]> {
  readonly engine = "mysql";
  readonly connection: string;
  readonly endpoint: DatabaseEndpoint;
  readonly #conn: DatabaseConnectionConfig;
  readonly #options: MysqlOptions;
  readonly #driver: Mysql2;
  readonly #schema: string;
  readonly #timeout: number;
  #pool: { pool: Pool; at: number } | undefined;
  #migrated: Promise<void> | undefined;

  constructor(conn: DatabaseConnectionConfig, options: MysqlOptions, driver: Mysql2) {
    this.#conn = conn;
    this.#options = options;
    this.#driver = driver;
    this.connection = conn.name;
    const { user: _u, ...endpoint } = mysqlEndpoint(conn.url);
    this.endpoint = endpoint;
    this.#schema = id(conn.leaseSchema);
    this.#timeout = options.timeoutMs ?? 5000;
  }

  /** mysql2 takes a fixed password: the pool is rebuilt when the admin password (an IAM token) is due. */
  async #connection(): Promise<PoolConnection> {
    const reuse = this.#options.password.reuseMs || DEFAULT_REUSE_MS;
    if (!this.#pool || Date.now() - this.#pool.at > reuse) {
      const e = mysqlEndpoint(this.#conn.url);
      const password = await this.#options.password.get();
      const old = this.#pool;
      this.#pool = {
        at: Date.now(),
        pool: this.#driver.createPool({
          host: e.host,
          port: e.port,
          user: e.user,
          ...(password === undefined ? {} : { password }),
          connectionLimit: this.#conn.maxConnections,
          connectTimeout: this.#timeout,
          multipleStatements: false,
          supportBigNumbers: true,
        }),
      };
      old?.pool.end().catch(() => {});
    }
    return this.#pool.pool.getConnection();
  }

  async #with<T>(work: (c: PoolConnection) => Promise<T>): Promise<T> {
    const c = await this.#connection();
    try {
      return await work(c);
    } finally {
      c.release();
    }
  }

  #query<T = RowDataPacket[]>(c: PoolConnection, sql: string, values: unknown[] = []): Promise<T> {
    return c.query({ sql, values, timeout: this.#timeout }).then(([rows]) => rows as T);
  }

  #ready(): Promise<void> {
    this.#migrated ??= this.#with(async (c) => {
      await this.#query(c, "SELECT GET_LOCK('wif_broker.migrate', 10)");
      try {
        await this.#query(c, `CREATE DATABASE IF NOT EXISTS ${this.#schema}`);
        await this.#query(
          c,
          `CREATE TABLE IF NOT EXISTS ${this.#schema}.schema_migrations (version INT PRIMARY KEY, applied_at BIGINT NOT NULL) ENGINE=InnoDB`,
        );
        const done = await this.#query<Array<{ version: number }>>(
          c,
          `SELECT version FROM ${this.#schema}.schema_migrations`,
        );
        const applied = new Set(done.map((r) => Number(r.version)));
        for (const m of MYSQL_MIGRATIONS) {
          if (applied.has(m.version)) continue;
          for (const statement of m.statements(this.#schema)) await this.#query(c, statement);
          await this.#query(c, `INSERT INTO ${this.#schema}.schema_migrations VALUES (?, ?)`, [
            m.version,
            Date.now(),
          ]);
        }
      } finally {
        await this.#query(c, "SELECT RELEASE_LOCK('wif_broker.migrate')").catch(() => {});
      }
    }).catch((e) => {
      this.#migrated = undefined;
      throw e;
    });
    return this.#migrated;
  }

  async create(lease: NewLease, grants: readonly MysqlGrant[]): Promise<void> {
    await this.#ready();
    await this.#with(async (c) => {
      await this.#query(
        c,
        `INSERT INTO ${this.#schema}.leases
           (name, policy, subject, grants, password_sha256, request_id, state, created_at, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, 'creating', ?, ?)`,
        [
          lease.name,
          lease.policy,
          lease.subject,
          JSON.stringify(grants),
          passwordHash(lease.password),
          lease.requestId,
          Date.now(),
          lease.expiresAt,
        ],
      );
      try {
        // Values go through the driver's escaping; the grant text is rendered from the parsed grammar only.
        await this.#query(c, "CREATE USER ?@'%' IDENTIFIED BY ?", [lease.name, lease.password]);
        for (const g of grants)
          await this.#query(c, `GRANT ${g.privileges.join(", ")} ON ${renderGrantObject(g)} TO ?@'%'`, [
            lease.name,
          ]);
        await this.#query(c, `UPDATE ${this.#schema}.leases SET state = 'active' WHERE name = ?`, [
          lease.name,
        ]);
      } catch (e) {
        // Best effort now, on a fresh connection (this one may be what failed); if the database is gone, the
        // reaper removes the `creating` orphan later.
        await this.#with(async (fresh) => {
          await this.#query(fresh, "DROP USER IF EXISTS ?@'%'", [lease.name]);
          await this.#query(fresh, `DELETE FROM ${this.#schema}.leases WHERE name = ?`, [lease.name]);
        }).catch(() => {});
        throw e;
      }
    });
  }

  async reapExpired(now: number, limit: number): Promise<ReapResult> {
    await this.#ready();
    return this.#revokeWhere(
      "(expires_at <= ? OR (state = 'creating' AND created_at <= ?)) ORDER BY expires_at LIMIT ?",
      [now, Date.now() - ORPHAN_AFTER_MS, limit],
    );
  }

  async revokeByPasswordHash(hash: string): Promise<LeaseRecord | undefined> {
    await this.#ready();
    return (await this.#revokeWhere("password_sha256 = ?", [hash])).revoked[0];
  }

  async #revokeWhere(where: string, values: unknown[]): Promise<ReapResult> {
    return this.#with(async (c) => {
      const claimed = await this.#claim(c, where, values);
      const revoked: LeaseRecord[] = [];
      let failed = 0;
      for (const lease of claimed) {
        try {
          await this.#query(c, "ALTER USER IF EXISTS ?@'%' ACCOUNT LOCK", [lease.name]);
          await this.#killSessions(c, lease.name);
          await this.#query(c, "DROP USER IF EXISTS ?@'%'", [lease.name]);
          await this.#killSessions(c, lease.name);
          await this.#query(c, `DELETE FROM ${this.#schema}.leases WHERE name = ?`, [lease.name]);
          revoked.push(lease);
        } catch (e) {
          if (isConnectionLoss(e)) throw e;
          failed++;
        }
      }
      return { revoked, failed };
    });
  }

  /** Claims matching rows for this instance: rows another instance holds (locked or claimed) are skipped. */
  async #claim(c: PoolConnection, where: string, values: unknown[]): Promise<LeaseRecord[]> {
    const now = Date.now();
    await this.#query(c, "START TRANSACTION");
    try {
      const rows = await this.#query<
        Array<{ name: string; policy: string; subject: string; expires_at: number }>
      >(
        c,
        `SELECT name, policy, subject, expires_at FROM ${this.#schema}.leases
          WHERE (claimed_until IS NULL OR claimed_until < ?) AND ${where} FOR UPDATE SKIP LOCKED`,
        [now, ...values],
      );
      if (rows.length > 0) {
        await this.#query(c, `UPDATE ${this.#schema}.leases SET claimed_until = ? WHERE name IN (?)`, [
          now + CLAIM_MS,
          rows.map((r) => r.name),
        ]);
      }
      await this.#query(c, "COMMIT");
      return rows.map((r) => ({
        name: r.name,
        policy: r.policy,
        subject: r.subject,
        expiresAt: Number(r.expires_at),
      }));
    } catch (e) {
      await this.#query(c, "ROLLBACK").catch(() => {});
      throw e;
    }
  }

  async #killSessions(c: PoolConnection, user: string): Promise<void> {
    const sessions = await this.#query<Array<{ ID: number }>>(
      c,
      "SELECT ID FROM information_schema.PROCESSLIST WHERE USER = ? AND ID <> CONNECTION_ID()",
      [user],
    );
    for (const s of sessions) {
      // ER_NO_SUCH_THREAD: the session ended on its own meanwhile.
      await this.#query(c, "KILL CONNECTION ?", [Number(s.ID)]).catch((e: { errno?: number }) => {
        if (e.errno !== 1094) throw e;
      });
    }
  }

  async activeLeases(): Promise<number> {
    await this.#ready();
    return this.#with(async (c) => {
      const rows = await this.#query<Array<{ n: number }>>(
        c,
        `SELECT COUNT(*) AS n FROM ${this.#schema}.leases`,
      );
      return Number(rows[0]?.n ?? 0);
    });
  }

  async close(): Promise<void> {
    await this.#pool?.pool.end();
  }
}

const isConnectionLoss = (e: unknown): boolean => {
  const code = (e as { code?: unknown }).code;
  return typeof code === "string" && /^(PROTOCOL_|ECONN|ETIMEDOUT|EPIPE)/.test(code);
};
