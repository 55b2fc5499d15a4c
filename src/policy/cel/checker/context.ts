import type { Expr } from "@bufbuild/cel-spec/cel/expr/syntax_pb.js";
import type { CelT } from "../types/cel-type.ts";

/** What the check of one kind of node needs from the checker walking the expression. */
export interface CheckContext {
  /** Types a subexpression at `depth`, counting it against the node and depth limits. */
  check(e: Expr, depth: number): CelT;
  /** Throws a ConditionError at the source position of `e`. */
  fail(e: Expr, message: string): never;
  /** A macro variable in scope, else a declared variable. */
  lookup(name: string): CelT | undefined;
  /** The declared type of the claim `e` selects (`claims.run_attempt`), when the provider's shape has one. */
  claimType(e: Expr): CelT | undefined;
  /** Macro variables, innermost last. */
  readonly scopes: Array<ReadonlyMap<string, CelT>>;
}

/** A call node being checked: `target.fn(args)` or `fn(args)`. */
export interface CallSite {
  readonly e: Expr;
  readonly fn: string;
  readonly target: Expr | undefined;
  readonly args: readonly Expr[];
  readonly depth: number;
  /** Argument `i`; a missing one is a check error. */
  arg(i: number): Expr;
}
