import { parse } from "@bufbuild/cel";
import type { Expr, ParsedExpr } from "@bufbuild/cel-spec/cel/expr/syntax_pb.js";
import { ConditionError } from "../errors.ts";

interface SyntaxErrorShape {
  location: { start: { line: number; column: number } };
  found: string | null;
  expected: Array<{ type?: string; value?: string }> | null;
}

function isSyntaxError(e: unknown): e is SyntaxErrorShape {
  return typeof e === "object" && e !== null && "location" in e && "found" in e;
}

function syntaxError(e: unknown): ConditionError {
  if (isSyntaxError(e)) {
    const expected = [
      ...new Set(
        (e.expected ?? [])
          .filter((x) => x.value !== undefined && x.value !== "whitespace" && x.value !== "comment")
          .map((x) => (x.type === "literal" ? `'${x.value}'` : String(x.value))),
      ),
    ];
    const found = e.found ? `'${e.found}'` : "end of input";
    const hint = expected.length > 0 && expected.length <= 4 ? `, expected ${expected.join(" or ")}` : "";
    return new ConditionError(`syntax error: unexpected ${found}${hint}`, e.location.start);
  }
  // The parser recurses per nesting level; the nesting check keeps it far from the stack limit.
  return new ConditionError(`syntax error: ${e instanceof Error ? e.message : String(e)}`);
}

/** The parsed expression, or a ConditionError that says where the syntax breaks and what would fit. */
export function parseSource(source: string): ParsedExpr & { expr: Expr } {
  try {
    return parse(source);
  } catch (e) {
    throw syntaxError(e);
  }
}
