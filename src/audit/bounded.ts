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
/**
 * The base64url characters a segment can start with when it decodes to optional whitespace and then `{` (what
 * looksLikeJoseHeader accepts): the top six bits of `{` (0x7B) are `e`, of TAB…CR `C`/`D`, of space `I`, of NBSP
 * (0xA0, whitespace in latin1) `o`. Any other first character cannot start a JOSE header, so it is not decoded.
 */
const HEADER_FIRST_CHARS = "eCDIo";

function looksLikeJoseHeader(segment: string): boolean {
  if (!HEADER_FIRST_CHARS.includes(segment.charAt(0)) || !SEGMENT.test(segment)) return false;
  const text = Buffer.from(segment.replace(/=+$/, ""), "base64url").toString("latin1");
  return /^\s*\{/.test(text);
}

/** A compact JWS has at least three segments, so at least two dots. */
function hasTwoDots(s: string): boolean {
  const first = s.indexOf(".");
  return first >= 0 && s.indexOf(".", first + 1) >= 0;
}

/**
 * A run holds a compact JWS or JWE (RFC 7515 §7.1, RFC 7516 §7.1) when some segment decodes to a JSON object
 * and at least two more segments follow it. Linear in the input (no backtracking pattern).
 */
function holdsJwt(run: string): boolean {
  if (!hasTwoDots(run)) return false;
  const segments = run.split(".");
  for (let i = 0; i + 2 < segments.length; i++) if (looksLikeJoseHeader(segments[i] ?? "")) return true;
  return false;
}

/** Replaces every run of `s` that holds a JWT with `sha256:<hex of that run>`. */
export function hashJwts(s: string): string {
  if (!hasTwoDots(s)) return s;
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
    const n = Math.min(v.length, MAX_ARRAY_ITEMS);
    const items: unknown[] = new Array(n);
    for (let i = 0; i < n; i++) items[i] = boundValue(v[i], maxChars, depth + 1);
    if (v.length > MAX_ARRAY_ITEMS) items.push(`${CUT_MARK} ${v.length - MAX_ARRAY_ITEMS} more`);
    return items;
  }
  const out: Record<string, unknown> = {};
  const keys = Object.keys(v);
  const n = Math.min(keys.length, MAX_OBJECT_KEYS);
  const keyChars = Math.min(maxChars, 256);
  for (let i = 0; i < n; i++) {
    const k = keys[i] as string;
    const x = (v as Record<string, unknown>)[k];
    if (x !== undefined) out[cut(hashJwts(k), keyChars)] = boundValue(x, maxChars, depth + 1);
  }
  if (keys.length > MAX_OBJECT_KEYS) out[CUT_MARK] = keys.length - MAX_OBJECT_KEYS;
  return out;
}

/** One serialised line and whether it fits: UTF-8 takes at most 3 bytes per UTF-16 unit, so short lines are not counted. */
const fits = (line: string) =>
  line.length * 3 < MAX_AUDIT_LINE_BYTES || Buffer.byteLength(line, "utf8") + 1 <= MAX_AUDIT_LINE_BYTES;

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

/** The bounded event and its JSON line (no newline), serialised once: the size check and the sink share it. */
export function boundAuditLine(event: AuditEvent): { event: AuditEvent; line: string } {
  let bounded = boundValue(event) as AuditEvent & Record<string, unknown>;
  let line = JSON.stringify(bounded);
  if (fits(line)) return { event: bounded, line };
  // Too long as a whole: the largest parts go first, marked, then every string is cut harder.
  for (const field of ["trace", "claims", "actor_claims"]) {
    if (bounded[field] === undefined) continue;
    const { [field]: _dropped, ...rest } = bounded;
    bounded = { ...rest, truncated: true } as typeof bounded;
    line = JSON.stringify(bounded);
    if (fits(line)) return { event: bounded, line };
  }
  for (const chars of [256, 64]) {
    const tighter = { ...(boundValue(bounded, chars) as typeof bounded), truncated: true };
    line = JSON.stringify(tighter);
    if (fits(line)) return { event: tighter, line };
  }
  const core: Record<string, unknown> = { truncated: true };
  for (const k of CORE) if (bounded[k] !== undefined) core[k] = boundValue(bounded[k], 64);
  return { event: core as unknown as AuditEvent, line: JSON.stringify(core) };
}

export const boundAuditEvent = (event: AuditEvent): AuditEvent => boundAuditLine(event).event;

/** Wraps a sink so that every event is bounded before it is written; a line sink gets the line already made. */
export function boundedAuditSink(sink: AuditSink): AuditSink {
  return {
    write(event) {
      const bounded = boundAuditLine(event);
      if (sink.writeLine) sink.writeLine(bounded.event, bounded.line);
      else sink.write(bounded.event);
    },
  };
}
