import type { Expr } from "@bufbuild/cel-spec/cel/expr/syntax_pb.js";
import { BOOL, type CelT, isDyn, show } from "../types/cel-type.ts";
import { assignable } from "../types/relations.ts";
import type { CallSite, CheckContext } from "./context.ts";

/** The parser names macro accumulators `@result`, which no user expression can spell. */
const isAccumulator = (e: Expr) => e.exprKind.case === "identExpr" && e.exprKind.value.name.startsWith("@");

/** `&&`, `||` and the macros' `@not_strictly_false`: bool operands, a bool result. */
export function checkLogical(ctx: CheckContext, { fn, args, depth }: CallSite): CelT {
  // all() and exists() expand to `@result && p` / `@result || p`: a non-bool p is the macro's fault.
  const inMacro = args.some(isAccumulator);
  for (const a of args) {
    const t = ctx.check(a, depth + 1);
    if (assignable(BOOL, t)) continue;
    ctx.fail(
      a,
      inMacro
        ? `a macro's predicate must be bool, not ${show(t)}`
        : `'${fn === "_&&_" ? "&&" : "||"}' needs bool operands, not ${show(t)}`,
    );
  }
  return BOOL;
}

/** `c ? a : b`: a bool condition and branches of one type. */
export function checkConditional(ctx: CheckContext, call: CallSite): CelT {
  const cond = ctx.check(call.arg(0), call.depth + 1);
  if (!assignable(BOOL, cond)) {
    // filter() and exists_one() expand to `p ? … : @result`.
    const what = call.args.some(isAccumulator) ? "a macro's predicate" : "the condition of '?:'";
    ctx.fail(call.arg(0), `${what} must be bool, not ${show(cond)}`);
  }
  const a = ctx.check(call.arg(1), call.depth + 1);
  const b = ctx.check(call.arg(2), call.depth + 1);
  if (!assignable(a, b) && !assignable(b, a))
    ctx.fail(call.e, `the branches of '?:' have different types, ${show(a)} and ${show(b)}`);
  return isDyn(a) ? b : a;
}
