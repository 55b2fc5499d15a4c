import type { AuditSink } from "../../audit/event.ts";
import type { Config } from "../../config/schema.ts";
import type { Logger } from "../../observability/log.ts";
import type { Metrics } from "../../observability/metrics.ts";
import type { MysqlGrant } from "../../policy/mysql-grant.ts";
import type { Revoker } from "../../revocation/types.ts";
import type { Clock } from "../../util/clock.ts";
import type { Minter } from "../types.ts";
import { type AdminLoginOverrides, adminPassword } from "./admin-login.ts";
import { leaseEvents } from "./lease-events.ts";
import type { LeaseDatabase } from "./leases.ts";
import { createDatabaseMinter } from "./minter.ts";
import { LeaseReaper } from "./reaper.ts";
import { databaseRevoker } from "./revoker.ts";

/** Everything the database targets add to a broker: minters, the /revoke revoker and the reaper loop. */
export interface DatabaseTargets {
  minters: Minter[];
  revoker: Revoker;
  reaper: LeaseReaper;
  /** Stops the reaper (waiting for a round in flight), then closes the pools. */
  close(): Promise<void>;
}

export interface DatabaseTargetDeps {
  clock: Clock;
  audit: AuditSink;
  metrics: Metrics;
  logger: Logger;
  newRequestId: () => string;
  adminLogin?: AdminLoginOverrides;
}

/** Undefined when the config sets up neither `targets.postgres` nor `targets.mysql`. Drivers load only here. */
export async function createDatabaseTargets(
  config: Config,
  deps: DatabaseTargetDeps,
): Promise<DatabaseTargets | undefined> {
  const { postgres, mysql } = config.targets;
  if (!postgres && !mysql) return undefined;
  const events = leaseEvents(deps.audit, deps.metrics);
  const minters: Minter[] = [];
  const all: LeaseDatabase<unknown>[] = [];
  const intervals: number[] = [];
  const endpointOf = (url: string, defaultPort: number) => {
    const u = new URL(url);
    return {
      host: u.hostname.replace(/^\[|\]$/g, ""),
      port: u.port ? Number(u.port) : defaultPort,
      user: decodeURIComponent(u.username),
    };
  };

  if (postgres) {
    const { createPostgresDatabase } = await import("./postgres.ts");
    const dbs = new Map<string, LeaseDatabase<readonly string[]>>();
    for (const conn of postgres.connections) {
      const password = adminPassword(conn, endpointOf(conn.url, 5432), deps.adminLogin);
      dbs.set(conn.name, await createPostgresDatabase(conn, { password }));
    }
    minters.push(
      createDatabaseMinter(
        "postgres",
        dbs,
        (g) => {
          if (g.target.kind !== "postgres")
            throw new TypeError(`postgres minter got a ${g.target.kind} grant`);
          return { connection: g.target.postgres.connection, privileges: g.target.postgres.roles };
        },
        events,
      ),
    );
    all.push(...dbs.values());
    intervals.push(postgres.reapInterval);
  }
  if (mysql) {
    const { createMysqlDatabase } = await import("./mysql.ts");
    const dbs = new Map<string, LeaseDatabase<readonly MysqlGrant[]>>();
    for (const conn of mysql.connections) {
      const password = adminPassword(conn, endpointOf(conn.url, 3306), deps.adminLogin);
      dbs.set(conn.name, await createMysqlDatabase(conn, { password }));
    }
    minters.push(
      createDatabaseMinter(
        "mysql",
        dbs,
        (g) => {
          if (g.target.kind !== "mysql") throw new TypeError(`mysql minter got a ${g.target.kind} grant`);
          return { connection: g.target.mysql.connection, privileges: g.target.mysql.grants };
        },
        events,
      ),
    );
    all.push(...dbs.values());
    intervals.push(mysql.reapInterval);
  }

  const reaper = new LeaseReaper({
    databases: all,
    intervalMs: Math.min(...intervals) * 1000,
    clock: deps.clock,
    events,
    logger: deps.logger,
    newRequestId: deps.newRequestId,
  });
  return {
    minters,
    revoker: databaseRevoker(all, events, deps.newRequestId),
    reaper,
    async close() {
      await reaper.stop();
      await Promise.all(all.map((db) => db.close().catch(() => {})));
    },
  };
}
