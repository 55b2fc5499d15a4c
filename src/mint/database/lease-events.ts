import type { AuditEvent, AuditSink } from "../../audit/event.ts";
import type { Metrics } from "../../observability/metrics.ts";
import type { LeaseDatabase, LeaseRecord } from "./leases.ts";

/**
 * Audit lines and metrics of the lease lifecycle (CONTRACT §8): one `lease.created` and one `lease.revoked` line
 * per lease, naming the login, its policy, subject and expiry — never its password.
 */
export interface LeaseEvents {
  created(db: LeaseDatabase<unknown>, lease: LeaseRecord, requestId: string): void;
  revoked(db: LeaseDatabase<unknown>, lease: LeaseRecord, by: "expired" | "revoke", requestId: string): void;
  failed(db: LeaseDatabase<unknown>, operation: "create" | "reap" | "revoke"): void;
  active(db: LeaseDatabase<unknown>, count: number): void;
  lag(db: LeaseDatabase<unknown>, seconds: number): void;
}

export function leaseEvents(audit: AuditSink, metrics: Metrics): LeaseEvents {
  const labels = (db: LeaseDatabase<unknown>) => ({ engine: db.engine, connection: db.connection });
  const line = (
    db: LeaseDatabase<unknown>,
    lease: LeaseRecord,
    requestId: string,
    event: "lease.created" | "lease.revoked",
    by?: "expired" | "revoke",
  ): AuditEvent => ({
    time: new Date().toISOString(),
    request_id: requestId,
    decision: "allow",
    reason: by ? `lease.revoked.${by}` : "lease.created",
    status: 200,
    latency_ms: 0,
    policy: lease.policy,
    sub: lease.subject,
    target_kind: db.engine,
    jti: lease.name,
    event,
    lease: {
      engine: db.engine,
      connection: db.connection,
      name: lease.name,
      expires_at: new Date(lease.expiresAt).toISOString(),
      ...(by ? { revoked_by: by } : {}),
    },
  });
  return {
    created(db, lease, requestId) {
      metrics.leasesCreated.inc(labels(db));
      audit.write(line(db, lease, requestId, "lease.created"));
    },
    revoked(db, lease, by, requestId) {
      metrics.leasesRevoked.inc({ ...labels(db), by });
      audit.write(line(db, lease, requestId, "lease.revoked", by));
    },
    failed: (db, operation) => metrics.leaseFailures.inc({ ...labels(db), operation }),
    active: (db, count) => metrics.leasesActive.set(labels(db), count),
    lag: (db, seconds) => metrics.leaseReaperLag.set(labels(db), seconds),
  };
}
