import type { Expr, Expr_Comprehension } from "@bufbuild/cel-spec/cel/expr/syntax_pb.js";
import { BOOL, type CelT, DYN, isDyn, STRING, show } from "../types/cel-type.ts";
import { assignable, join } from "../types/relations.ts";
import type { CheckContext } from "./context.ts";

/** The expansion of a macro (`all`, `exists`, `exists_one`, `map`, `filter`) over a list or a map's keys. */
export function checkComprehension(ctx: CheckContext, e: Expr, c: Expr_Comprehension, depth: number): CelT {
  if (!c.iterRange || !c.accuInit || !c.loopCondition || !c.loopStep || !c.result) {
    return ctx.fail(e, "malformed comprehension");
  }
  if (c.iterVar2 !== "") ctx.fail(e, "two-variable comprehensions are not supported");
  const range = ctx.check(c.iterRange, depth + 1);
  let elem: CelT;
  if (range.kind === "list") elem = range.elem;
  else if (range.kind === "map") elem = range.key;
  else if (range.kind === "request") elem = STRING;
  else if (isDyn(range)) elem = DYN;
  else return ctx.fail(c.iterRange, `cannot iterate over ${show(range)}; a macro needs a list or a map`);
  const accu = ctx.check(c.accuInit, depth + 1);
  ctx.scopes.push(new Map([[c.accuVar, accu]]));
  ctx.scopes.push(new Map([[c.iterVar, elem]]));
  const cond = ctx.check(c.loopCondition, depth + 1);
  if (!assignable(BOOL, cond))
    ctx.fail(c.loopCondition, `a macro's predicate must be bool, not ${show(cond)}`);
  const step = ctx.check(c.loopStep, depth + 1);
  ctx.scopes.pop();
  // The accumulator keeps its type when the step agrees; a list accumulator widens to the step's element type.
  const accuType = accu.kind === "list" && step.kind === "list" ? join(accu, step) : accu;
  if (!assignable(accuType, step))
    ctx.fail(c.loopStep, `a macro's predicate must be bool, not ${show(step)}`);
  ctx.scopes[ctx.scopes.length - 1] = new Map([[c.accuVar, accuType]]);
  const result = ctx.check(c.result, depth + 1);
  ctx.scopes.pop();
  return result;
}
