import { BrokerError } from "../../errors.ts";

/**
 * Driver errors (pg, mysql2) → BrokerError, recognised by shape so this file loads no driver. A database that
 * cannot be reached, refuses connections or went away mid-statement is `unavailable` (CONTRACT §8: database down
 * → 503 with Retry-After); anything else the database refuses is a `server_error` naming only the error code.
 * Driver messages never travel: they may quote statements.
 */
const NETWORK = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "EPIPE",
  "PROTOCOL_CONNECTION_LOST",
  "PROTOCOL_SEQUENCE_TIMEOUT",
  "ER_CON_COUNT_ERROR",
  "ER_SERVER_SHUTDOWN",
]);

/** PostgreSQL SQLSTATE: class 08 connection exception, 53 insufficient resources, 57P0x operator intervention. */
const PG_UNAVAILABLE = /^(08|53|57P0[1-4])/;

export interface DatabaseFailure {
  unavailable: boolean;
  /** A code name safe to log: SQLSTATE, a MySQL error name or a system error code. */
  code: string;
}

export function classifyDatabaseError(e: unknown): DatabaseFailure {
  for (let cur: unknown = e, depth = 0; cur && depth < 5; depth++) {
    const o = cur as { code?: unknown; errno?: unknown; message?: unknown; cause?: unknown };
    const code = typeof o.code === "string" ? o.code : undefined;
    if (code && (NETWORK.has(code) || PG_UNAVAILABLE.test(code))) return { unavailable: true, code };
    if (code) return { unavailable: false, code };
    // pg: "Connection terminated unexpectedly", "timeout exceeded when trying to connect" carry no code.
    if (typeof o.message === "string" && /connection terminated|timeout|connect/i.test(o.message))
      return { unavailable: true, code: "connection" };
    cur = o.cause;
  }
  return { unavailable: false, code: "unknown" };
}

export const RETRY_AFTER_SECONDS = 5;

export function toBrokerError(e: unknown, connection: string): BrokerError {
  if (e instanceof BrokerError) return e;
  const f = classifyDatabaseError(e);
  if (f.unavailable) {
    return new BrokerError("unavailable", {
      reason: "database.unavailable",
      detail: `database ${connection} unavailable (${f.code})`,
      retryAfter: RETRY_AFTER_SECONDS,
    });
  }
  return new BrokerError("server_error", {
    reason: "database.refused",
    detail: `database ${connection} refused the lease (${f.code})`,
  });
}
