import { RE2JS } from "re2js";
import { compileGlob, type GlobMatcher } from "./glob.ts";
import type { ClaimType } from "./platforms.ts";
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
 * A `regex` matcher's program. RE2 programs are large (~17 KiB each in re2js) and most policies of a large set are
 * never a candidate for a request (the index narrows first), so the pattern is compiled at load only to refuse a bad
 * one, and kept compiled from its first use on. Policies of one set that share a pattern share one program.
 */
export class RegexProgram {
  readonly #source: string;
  #re: RE2JS | undefined;

  constructor(source: string) {
    this.#source = source;
  }

  /** RE2: linear-time, no backreferences or lookaround; `matches` anchors at both ends. */
  matches(value: string): boolean {
    this.#re ??= RE2JS.compile(this.#source, RE2JS.DOTALL);
    return this.#re.matches(value);
  }
}

/**
 * Compiled patterns shared by the policies of one set. The set being compiled owns the maps (policy/compile.ts
 * CompileScope): a reload that drops the set drops them.
 */
export interface PatternCache {
  regexes: Map<string, RegexProgram>;
  globs: Map<string, GlobMatcher>;
}

export const newPatternCache = (): PatternCache => ({ regexes: new Map(), globs: new Map() });

function sharedGlob(source: string, cache: PatternCache): GlobMatcher {
  let glob = cache.globs.get(source);
  if (!glob) {
    glob = compileGlob(source);
    cache.globs.set(source, glob);
  }
  return glob;
}

function compilePattern(source: string, what: string, cache: PatternCache): RegexProgram {
  const patterns = cache.regexes;
  const cached = patterns.get(source);
  if (cached) return cached;
  try {
    // Compiled to refuse what RE2 cannot run (a load error), then dropped until first use.
    RE2JS.compile(source, RE2JS.DOTALL);
  } catch (e) {
    throw new MatcherError(`invalid ${what}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const program = new RegexProgram(source);
  patterns.set(source, program);
  return program;
}

type LiteralType = "string" | "number" | "boolean";

/** The JSON types of the literals a matcher compares with (glob and regex compare strings). */
export function literalTypes(input: MatcherInput): ReadonlySet<LiteralType> {
  if (typeof input !== "object") return new Set([typeof input as LiteralType]);
  if ("glob" in input || "regex" in input) return new Set(["string"]);
  if ("in" in input) return new Set(input.in.map((x) => typeof x as LiteralType));
  return literalTypes(input.not);
}

/**
 * Compiles one `match` entry. Total over JSON types (CONTRACT §5): a missing or wrongly typed claim satisfies no
 * matcher, negated or not — `not` admits only a present claim of its literals' type whose value the inner
 * matcher refuses, so an issuer cannot side-step a deny-list by sending an array, a number or an object.
 */
export function compileMatcher(input: MatcherInput, patterns: PatternCache = newPatternCache()): Matcher {
  return build(input, patterns);
}

/**
 * CONTRACT §5 "Claim types": a literal (or glob/regex) that can never equal a value of the claim's declared type
 * is a load error (a MatcherError saying what to write instead), not a policy that silently never matches.
 */
export function checkDeclaredType(input: MatcherInput, declared: ClaimType): void {
  const wrong = [...literalTypes(input)].filter((t) => t !== declared);
  if (wrong.length === 0) return;
  const negated = typeof input === "object" && "not" in input;
  const effect = negated ? "so the not never excludes anything" : "so it never matches";
  const quote =
    declared === "string" && wrong.every((t) => t !== "string")
      ? `: quote it (${shownLiterals(input)
          .map((l) => JSON.stringify(String(l)))
          .join(", ")})`
      : "";
  throw new MatcherError(
    `the claim is a ${declared} in this provider's tokens; a ${wrong.join(" or ")} literal is never converted, ${effect}${quote}`,
  );
}

function shownLiterals(input: MatcherInput): Literal[] {
  if (typeof input !== "object") return [input];
  if ("in" in input) return input.in;
  if ("not" in input) return shownLiterals(input.not);
  return [];
}

function build(input: MatcherInput, patterns: PatternCache): Matcher {
  if (typeof input !== "object") {
    return {
      kind: "exact",
      test: (v) => sameLiteral(input, v),
      ...(typeof input === "string" ? { exactStrings: [input] } : {}),
    };
  }
  if ("glob" in input) {
    const glob = sharedGlob(input.glob, patterns);
    return { kind: "glob", test: (v) => typeof v === "string" && glob(v) };
  }
  if ("regex" in input) {
    const re = compilePattern(input.regex, "regex", patterns);
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
  const inner = build(input.not, patterns);
  const types: ReadonlySet<string> = literalTypes(input.not);
  // typeof an array, an object or null is "object", never a literal's type: none of them passes a `not`.
  return { kind: "not", test: (v) => types.has(typeof v) && !inner.test(v) };
}
