/**
 * A lease: a database login that exists only until `expiresAt` (CONTRACT §8). The lease row lives in the target
 * database itself (`<leaseSchema>.leases`), so the database is the one coordination point between any number of
 * broker instances and nothing is lost across restarts. The row holds the login's name, who got it and until
 * when — and only a SHA-256 of its password, which /revoke looks up.
 */
export type DatabaseEngineKind = "postgres" | "mysql";

export interface NewLease {
  name: string;
  password: string;
  policy: string;
  subject: string;
  requestId: string;
  /** Epoch milliseconds. */
  expiresAt: number;
}

export interface LeaseRecord {
  name: string;
  policy: string;
  subject: string;
  /** Epoch milliseconds. */
  expiresAt: number;
}

/** Where clients connect (from the connection URL). */
export interface DatabaseEndpoint {
  host: string;
  port: number;
  database: string;
}

export interface ReapResult {
  revoked: LeaseRecord[];
  /** Leases whose revocation failed this round (kept, retried next round). */
  failed: number;
}

/** One configured connection of one engine. Every method throws driver errors; callers map them. */
export interface LeaseDatabase<Privileges> {
  readonly engine: DatabaseEngineKind;
  readonly connection: string;
  readonly endpoint: DatabaseEndpoint;
  /** Creates the login with `privileges` and records the lease; on failure nothing of it stays (PostgreSQL) or
   *  the recorded lease lets the reaper clean up (MySQL, whose DDL is not transactional). */
  create(lease: NewLease, privileges: Privileges): Promise<void>;
  /** Revokes up to `limit` leases expired at `now`; leases another instance is revoking are skipped. */
  reapExpired(now: number, limit: number): Promise<ReapResult>;
  /** Revokes the lease whose password has this SHA-256 at once; undefined when there is none (or another
   *  instance is revoking it right now). */
  revokeByPasswordHash(hash: string): Promise<LeaseRecord | undefined>;
  activeLeases(): Promise<number>;
  close(): Promise<void>;
}

/** Each engine's lease-table migrations, applied in order under a lock; the applied versions are recorded. */
export interface Migration {
  version: number;
  statements: (schema: string) => string[];
}
