import type { ErrorKind } from "../errors.ts";
import type { PolicyTrace } from "../policy/types.ts";
import type { Reason } from "../reasons.ts";

/**
 * One JSON line per /token, /introspect and /revoke request (CONTRACT §7). Holds hashes and identifiers only: never a token, a
 * credential or a key. `trace` is the decision trace that an error's request id points to.
 */
export interface AuditEvent {
  time: string;
  request_id: string;
  decision: "allow" | "deny" | "error";
  reason: Reason;
  error?: ErrorKind;
  status: number;
  grant_type?: string;
  provider?: string;
  iss?: string;
  sub?: string;
  policy?: string;
  audience?: string;
  target_kind?: string;
  scopes?: string[];
  lifetime?: number;
  jti?: string;
  source_ip?: string;
  latency_ms: number;
  subject_token_sha256?: string;
  /** CONTRACT §7: the actor's iss/sub when delegated (RFC 8693 actor_token). */
  actor_iss?: string;
  actor_sub?: string;
  actor_token_sha256?: string;
  /** CONTRACT §7: the DPoP key thumbprint (RFC 7638) when the request carried a valid proof. */
  dpop_jkt?: string;
  trace?: PolicyTrace[];
  /** Set on /introspect and /revoke events (a /token event has none). */
  endpoint?: "/introspect" | "/revoke";
  /** SHA-256 of the token presented to /introspect or /revoke. */
  token_sha256?: string;
  revoker?: string;
  active?: boolean;
  caller_sub?: string;
  caller_client_id?: string;
  /** Parts of the event were dropped to keep the line within 16 KiB (CONTRACT §7). */
  truncated?: boolean;
  /** With `audit: {claims: true}` (CONTRACT §7): the verified subject token's claims, for `policy diff`. */
  claims?: Record<string, unknown>;
  /** The verified actor token's claims, when the request was delegated. */
  actor_claims?: Record<string, unknown>;
  /** Set instead of the claims when they would not fit the line bound. */
  claims_omitted?: "too_large";
  /** With `audit: {claims: true}`: the request as the decision saw it. */
  request?: AuditedRequest;
  /** A lease lifecycle line (CONTRACT §8), besides the per-request line; absent on request lines. */
  event?: "lease.created" | "lease.revoked";
  lease?: LeaseAuditFields;
}

export interface AuditedRequest {
  audience: string;
  /** Requested scopes, space-separated; absent when the request named none. */
  scope?: string;
  source_ip?: string;
  client_id?: string;
  /** The instant the decision used (ISO 8601). */
  time?: string;
}

/** Who holds which database login until when; never its password. */
export interface LeaseAuditFields {
  engine: string;
  connection: string;
  name: string;
  expires_at: string;
  /** lease.revoked: `expired` (the reaper) or `revoke` (POST /revoke). */
  revoked_by?: "expired" | "revoke";
}

export interface AuditSink {
  write(event: AuditEvent): void;
  /** The event with its JSON line (no newline) already serialised (audit/bounded.ts): text sinks write it as is. */
  writeLine?(event: AuditEvent, line: string): void;
}

/**
 * Writes JSON lines to a stream (stdout by default); audit is never mixed with operational logs on stderr. Lines
 * of one event-loop turn go out in one write (one syscall instead of one per request); the turn ends within
 * microseconds, so nothing waits on a timer.
 */
export function streamAuditSink(stream: NodeJS.WritableStream = process.stdout): AuditSink {
  let pending: string[] = [];
  const flush = () => {
    const lines = pending;
    pending = [];
    stream.write(lines.join(""));
  };
  const writeLine = (line: string) => {
    if (pending.length === 0) setImmediate(flush);
    pending.push(`${line}\n`);
  };
  return {
    write: (event) => writeLine(JSON.stringify(event)),
    writeLine: (_event, line) => writeLine(line),
  };
}
