import { BrokerError } from "../../errors.ts";
import type { Grant } from "../../policy/types.ts";
import { type IssuedToken, type Minter, TOKEN_TYPE } from "../types.ts";
import { toBrokerError } from "./errors.ts";
import type { LeaseEvents } from "./lease-events.ts";
import type { DatabaseEngineKind, LeaseDatabase } from "./leases.ts";
import { leaseName, leasePassword } from "./names.ts";

/** What a grant asks of one engine: the connection and the privileges (PostgreSQL roles, parsed MySQL grants). */
export type PrivilegesOf<P> = (grant: Grant) => { connection: string; privileges: P };

/**
 * The `postgres` and `mysql` targets (CONTRACT §3, §8): a login that exists only for its lease. The answer is the
 * database credentials document; its `Password` is the /revoke token for the lease.
 */
export function createDatabaseMinter<P>(
  kind: DatabaseEngineKind,
  databases: ReadonlyMap<string, LeaseDatabase<P>>,
  privilegesOf: PrivilegesOf<P>,
  events: LeaseEvents,
): Minter {
  return {
    kind,
    async mint(grant, ctx): Promise<IssuedToken> {
      const { connection, privileges } = privilegesOf(grant);
      const db = databases.get(connection);
      if (!db) {
        throw new BrokerError("invalid_target", {
          reason: "target.unconfigured",
          detail: `${kind} connection ${connection} is not configured`,
        });
      }
      const lease = {
        name: leaseName(grant.policy, kind),
        password: leasePassword(),
        policy: grant.policy,
        subject: grant.subject,
        requestId: ctx.requestId,
        expiresAt: ctx.now + grant.ttl * 1000,
      };
      try {
        await db.create(lease, privileges);
      } catch (e) {
        events.failed(db, "create");
        throw toBrokerError(e, connection);
      }
      events.created(db, lease, ctx.requestId);
      const { host, port, database } = db.endpoint;
      const document = {
        Version: 1,
        Engine: kind,
        Host: host,
        Port: port,
        Database: database,
        Username: lease.name,
        Password: lease.password,
        Expiration: new Date(lease.expiresAt).toISOString(),
      };
      return {
        accessToken: JSON.stringify(document),
        issuedTokenType: TOKEN_TYPE.databaseCredentials,
        tokenType: "N_A",
        expiresIn: grant.ttl,
        jti: lease.name,
      };
    },
  };
}
