import { RE2JS } from "re2js";
import { compileGlob } from "./glob.ts";
import type { MatcherInput } from "./schema.ts";

/** A compiled `match` entry. `test` never throws and never coerces: a value of another type does not match. */
export interface Matcher {
  test(value: unknown): boolean;
  /** What the matcher checks, for traces (no claim values). */
  readonly kind: "exact" | "glob" | "regex" | "in" | "not";
  /** The exact string values that can satisfy it, when finitely many (used to index policies). */
  readonly exactStrings?: readonly string[];
}

export class MatcherError extends Error {
  override name = "MatcherError";
}

type Literal = string | number | boolean;

/** Exact comparison of same-typed literals: "1" never equals 1 (CONTRACT §5: values are never coerced). */
const sameLiteral = (expected: Literal, value: unknown): boolean =>
  typeof value === typeof expected && value === expected;

/**
 * RE2 programs are large (~20 KB each), so policies that share a pattern share its program. Bounded: a
 * pathological set of distinct patterns only costs what it would without the cache.
 */
const patterns = new Map<string, RE2JS>();
const MAX_SHARED_PATTERNS = 10_000;

function compilePattern(source: string, what: string): RE2JS {
  const cached = patterns.get(source);
  if (cached) return cached;
  let re: RE2JS;
  try {
    // RE2: linear-time, no backreferences or lookaround. `matches` anchors at both ends.
    re = RE2JS.compile(source, RE2JS.DOTALL);
  } catch (e) {
    throw new MatcherError(`invalid ${what}: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (patterns.size < MAX_SHARED_PATTERNS) patterns.set(source, re);
  return re;
}

export function compileMatcher(input: MatcherInput): Matcher {
  if (typeof input !== "object") {
    return {
      kind: "exact",
      test: (v) => sameLiteral(input, v),
      ...(typeof input === "string" ? { exactStrings: [input] } : {}),
    };
  }
  if ("glob" in input) {
    const glob = compileGlob(input.glob);
    return { kind: "glob", test: (v) => typeof v === "string" && glob(v) };
  }
  if ("regex" in input) {
    const re = compilePattern(input.regex, "regex");
    return { kind: "regex", test: (v) => typeof v === "string" && re.matches(v) };
  }
  if ("in" in input) {
    const values = input.in;
    const allStrings = values.every((x) => typeof x === "string");
    return {
      kind: "in",
      test: (v) => values.some((x) => sameLiteral(x, v)),
      ...(allStrings ? { exactStrings: values as string[] } : {}),
    };
  }
  const inner = compileMatcher(input.not);
  // A missing claim never matches, not even under `not` (CONTRACT §5).
  return { kind: "not", test: (v) => v !== undefined && !inner.test(v) };
}
