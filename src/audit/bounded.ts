import { sha256Hex } from "../util/hash.ts";
import type { AuditEvent, AuditSink } from "./event.ts";

/**
 * CONTRACT §7: every request-derived audit field is bounded (longer values are cut and marked), a value that looks
 * like a JWT is logged as its SHA-256, and one audit line never exceeds 16 KiB (container runtimes split longer
 * lines, and a split line is a forged second event). Applied to every event on its way to the sink, whatever route
 * built it, so no field can be forgotten.
 */
export const MAX_AUDIT_LINE_BYTES = 16 * 1024;
/** Per string value (and per object key), in UTF-16 code units; cut values end with CUT_MARK. */
export const MAX_FIELD_CHARS = 1024;
export const MAX_ARRAY_ITEMS = 32;
export const MAX_OBJECT_KEYS = 64;
const MAX_DEPTH = 8;
export const CUT_MARK = "…[cut]";

/** Runs of the characters a compact JWS/JWE is made of (base64url, padding, dots); everything else separates. */
const RUN = /[A-Za-z0-9_=.-]+/g;
const SEGMENT = /^[A-Za-z0-9_-]+={0,2}$/;

function looksLikeJoseHeader(segment: string): boolean {
  if (!SEGMENT.test(segment)) return false;
  const text = Buffer.from(segment.replace(/=+$/, ""), "base64url").toString("latin1");
  return /^\s*\{/.test(text);
}

/**
 * A run holds a compact JWS or JWE (RFC 7515 §7.1, RFC 7516 §7.1) when some segment decodes to a JSON object
 * and at least two more segments follow it. Linear in the input (no backtracking pattern).
 */
function holdsJwt(run: string): boolean {
  const segments = run.split(".");
  for (let i = 0; i + 2 < segments.length; i++) if (looksLikeJoseHeader(segments[i] ?? "")) return true;
  return false;
}

/** Replaces every run of `s` that holds a JWT with `sha256:<hex of that run>`. */
export function hashJwts(s: string): string {
  if (!s.includes(".")) return s;
  return s.replace(RUN, (run) => (holdsJwt(run) ? `sha256:${sha256Hex(run)}` : run));
}

const cut = (s: string, max: number): string => {
  if (s.length <= max) return s;
  // Never split a surrogate pair: a lone surrogate would become U+FFFD and change the byte count.
  let end = max - CUT_MARK.length;
  const code = s.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end--;
  return `${s.slice(0, end)}${CUT_MARK}`;
};

/** One value made safe and bounded: JWTs hashed, strings cut, arrays and objects bounded in width and depth. */
export function boundValue(v: unknown, maxChars = MAX_FIELD_CHARS, depth = 0): unknown {
  if (typeof v === "string") return cut(hashJwts(v), maxChars);
  if (v === null || typeof v !== "object") return v;
  if (depth >= MAX_DEPTH) return CUT_MARK;
  if (Array.isArray(v)) {
    const items = v.slice(0, MAX_ARRAY_ITEMS).map((x) => boundValue(x, maxChars, depth + 1));
    if (v.length > MAX_ARRAY_ITEMS) items.push(`${CUT_MARK} ${v.length - MAX_ARRAY_ITEMS} more`);
    return items;
  }
  const out: Record<string, unknown> = {};
  const entries = Object.entries(v);
  for (const [k, x] of entries.slice(0, MAX_OBJECT_KEYS)) {
    out[cut(hashJwts(k), Math.min(maxChars, 256))] = boundValue(x, maxChars, depth + 1);
  }
  if (entries.length > MAX_OBJECT_KEYS) out[CUT_MARK] = entries.length - MAX_OBJECT_KEYS;
  return out;
}

const lineBytes = (e: unknown) => Buffer.byteLength(JSON.stringify(e), "utf8") + 1;

/** The fields that identify the event; kept whatever else has to go. */
const CORE = [
  "time",
  "request_id",
  "endpoint",
  "decision",
  "reason",
  "error",
  "status",
  "latency_ms",
] as const;

export function boundAuditEvent(event: AuditEvent): AuditEvent {
  let bounded = boundValue(event) as AuditEvent & Record<string, unknown>;
  if (lineBytes(bounded) <= MAX_AUDIT_LINE_BYTES) return bounded;
  // Too long as a whole: the largest parts go first, marked, then every string is cut harder.
  for (const field of ["trace", "claims", "actor_claims"]) {
    if (bounded[field] === undefined) continue;
    const { [field]: _dropped, ...rest } = bounded;
    bounded = { ...rest, truncated: true } as typeof bounded;
    if (lineBytes(bounded) <= MAX_AUDIT_LINE_BYTES) return bounded;
  }
  for (const chars of [256, 64]) {
    const tighter = { ...(boundValue(bounded, chars) as typeof bounded), truncated: true };
    if (lineBytes(tighter) <= MAX_AUDIT_LINE_BYTES) return tighter;
  }
  const core: Record<string, unknown> = { truncated: true };
  for (const k of CORE) if (bounded[k] !== undefined) core[k] = boundValue(bounded[k], 64);
  return core as unknown as AuditEvent;
}

/** Wraps a sink so that every event is bounded before it is written. */
export function boundedAuditSink(sink: AuditSink): AuditSink {
  return { write: (event) => sink.write(boundAuditEvent(event)) };
}
