import type { Revoker } from "../../revocation/types.ts";
import { toBrokerError } from "./errors.ts";
import type { LeaseEvents } from "./lease-events.ts";
import type { LeaseDatabase } from "./leases.ts";
import { looksLikeLeasePassword, passwordHash } from "./names.ts";

/**
 * POST /revoke with a lease password (CONTRACT §8, §10): the lease is revoked at once — login dropped, sessions
 * terminated. The token is looked up by its SHA-256 in every configured database; a token that cannot be a lease
 * password never reaches a database.
 */
export function databaseRevoker(
  databases: ReadonlyArray<LeaseDatabase<unknown>>,
  events: LeaseEvents,
  requestId: () => string,
): Revoker {
  return {
    kind: "database",
    async revoke(token) {
      if (!looksLikeLeasePassword(token)) return "not-mine";
      const hash = passwordHash(token);
      const results = await Promise.allSettled(
        databases.map(async (db) => {
          const lease = await db.revokeByPasswordHash(hash);
          if (lease) events.revoked(db, lease, "revoke", requestId());
          return lease;
        }),
      );
      if (results.some((r) => r.status === "fulfilled" && r.value !== undefined)) return "revoked";
      const failure = results.findIndex((r) => r.status === "rejected");
      if (failure >= 0) {
        const db = databases[failure] as LeaseDatabase<unknown>;
        events.failed(db, "revoke");
        throw toBrokerError((results[failure] as PromiseRejectedResult).reason, db.connection);
      }
      return "not-mine";
    },
  };
}
