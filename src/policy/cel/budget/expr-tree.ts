import type { Expr } from "@bufbuild/cel-spec/cel/expr/syntax_pb.js";

/** The direct subexpressions of `e`, in evaluation order (a call's target before its arguments). */
export function childrenOf(e: Expr): Array<Expr | undefined> {
  const k = e.exprKind;
  switch (k.case) {
    case "selectExpr":
      return [k.value.operand];
    case "callExpr":
      return [k.value.target, ...k.value.args];
    case "listExpr":
      return k.value.elements;
    case "structExpr":
      return k.value.entries.flatMap((en) => [
        en.keyKind.case === "mapKey" ? en.keyKind.value : undefined,
        en.value,
      ]);
    case "comprehensionExpr": {
      const c = k.value;
      return [c.iterRange, c.accuInit, c.loopCondition, c.loopStep, c.result];
    }
    default:
      return [];
  }
}

/** The number of nodes in `e`: what one evaluation of it costs a comprehension iteration. */
export function countNodes(e: Expr | undefined): number {
  return e ? 1 + childrenOf(e).reduce((n, child) => n + countNodes(child), 0) : 0;
}
