import { type Cidr, IpParseError, inRanges, parseCidr, parseIpAddress } from "../util/ip.ts";
import type { AccessSpec } from "./schema.ts";
import type { CheckResult } from "./types.ts";

/**
 * `spec.access` (CONTRACT §5): conditional access by source address and by schedule. Compiled once: every
 * CIDR parsed and the time zone validated, so a broken rule fails at load and `check` never throws.
 */

export interface AccessContext {
  /** The client's address as the socket (or a trusted proxy) reports it; undefined when unknown. */
  sourceIp: string | undefined;
  /** Epoch milliseconds. */
  now: number;
}

export interface CompiledAccess {
  /** One result per configured rule, `access.sourceCidrs` then `access.schedule`. */
  check(ctx: AccessContext): CheckResult[];
}

export class AccessError extends Error {
  override name = "AccessError";
}

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"] as const;
type Day = (typeof DAYS)[number];

// ---------------------------------------------------------------------------------------------------------
// Addresses

function parseRange(text: string): Cidr {
  try {
    return parseCidr(text);
  } catch (e) {
    if (e instanceof IpParseError) throw new AccessError(`sourceCidrs: ${e.message}`);
    throw e;
  }
}

function compileCidrs(cidrs: readonly string[]): (sourceIp: string | undefined) => CheckResult {
  const ranges = cidrs.map(parseRange);
  const check = "access.sourceCidrs";
  // Messages never echo the address: it is personal data in the audit trail of a denied request.
  return (sourceIp) => {
    if (sourceIp === undefined || sourceIp === "")
      return { check, ok: false, message: "source address is unknown" };
    const addr = parseIpAddress(sourceIp);
    if (!addr) return { check, ok: false, message: "source address is not a valid IP address" };
    return inRanges(addr, ranges)
      ? { check, ok: true }
      : { check, ok: false, message: "source address is outside the allowed ranges" };
  };
}

// ---------------------------------------------------------------------------------------------------------
// Time zones

/** Wall-clock fields of an instant in a time zone. `weekday` 0 is Sunday; `month` is 1-based. */
export interface ZonedTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  millisecond: number;
  weekday: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/**
 * A formatter for an IANA zone (or a fixed offset such as `+05:30`); throws RangeError for an unknown zone.
 * All DST rules come from the ICU data in Intl: nothing here knows an offset.
 */
function formatterFor(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
      weekday: "short",
    });
    // Zones may come from expressions evaluated per request; keep the cache bounded.
    if (formatters.size >= 512) formatters.clear();
    formatters.set(zone, f);
  }
  return f;
}

export function isTimeZone(zone: string): boolean {
  try {
    formatterFor(zone);
    return true;
  } catch {
    return false;
  }
}

/** The wall-clock time of `epochMs` in `zone`. Throws RangeError for an unknown zone. */
export function zonedTime(epochMs: number, zone: string): ZonedTime {
  const fields: Record<string, string> = {};
  for (const p of formatterFor(zone).formatToParts(epochMs)) fields[p.type] = p.value;
  const num = (k: string) => Number(fields[k]);
  return {
    year: num("year"),
    month: num("month"),
    day: num("day"),
    hour: num("hour"),
    minute: num("minute"),
    second: num("second"),
    millisecond: ((epochMs % 1000) + 1000) % 1000,
    weekday: DAYS.indexOf(fields.weekday as Day),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Schedule

type ScheduleSpec = NonNullable<AccessSpec["schedule"]>;

const minutes = (hhmm: string): number => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
const pad = (n: number) => String(n).padStart(2, "0");

/**
 * Wall-clock semantics in the policy's zone: `from` inclusive, `to` exclusive, `to` absent = end of day. A
 * window with `to` before `from` (22:00–06:00) crosses midnight and belongs to the day it starts on, so with
 * `days: [Fri]` it admits Friday 22:00 to Saturday 06:00. Across DST the wall clock decides: on the night
 * clocks spring forward the missing hour simply never occurs; on the night they fall back it occurs twice.
 */
function compileSchedule(s: ScheduleSpec): (now: number) => CheckResult {
  if (!isTimeZone(s.timezone)) throw new AccessError(`schedule: unknown time zone "${s.timezone}"`);
  const zone = s.timezone;
  const from = minutes(s.from ?? "00:00");
  const to = s.to === undefined ? 24 * 60 : minutes(s.to);
  if (from === to) {
    throw new AccessError(`schedule: from and to are both ${s.from ?? "00:00"}; omit both for the whole day`);
  }
  const days = new Set<number>((s.days ?? DAYS).map((d) => DAYS.indexOf(d)));
  const check = "access.schedule";
  return (now) => {
    if (!Number.isFinite(now)) return { check, ok: false, message: "the current time is unknown" };
    const t = zonedTime(now, zone);
    const at = t.hour * 60 + t.minute;
    const yesterday = (t.weekday + 6) % 7;
    const inside =
      from < to
        ? days.has(t.weekday) && at >= from && at < to
        : (days.has(t.weekday) && at >= from) || (days.has(yesterday) && at < to);
    if (inside) return { check, ok: true };
    return {
      check,
      ok: false,
      message: `${DAYS[t.weekday]} ${pad(t.hour)}:${pad(t.minute)} ${zone} is outside the schedule`,
    };
  };
}

export function compileAccess(spec: AccessSpec): CompiledAccess {
  const cidrs = spec.sourceCidrs === undefined ? undefined : compileCidrs(spec.sourceCidrs);
  const schedule = spec.schedule === undefined ? undefined : compileSchedule(spec.schedule);
  return {
    check({ sourceIp, now }) {
      const results: CheckResult[] = [];
      if (cidrs) results.push(cidrs(sourceIp));
      if (schedule) results.push(schedule(now));
      return results;
    },
  };
}
