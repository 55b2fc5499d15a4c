import {
  type Expr,
  type Expr_Call,
  type Expr_Comprehension,
  ExprSchema,
} from "@bufbuild/cel-spec/cel/expr/syntax_pb.js";
import { create } from "@bufbuild/protobuf";
import { CHARGE_FN, STEP_FN } from "./budget-functions.ts";
import { childrenOf, countNodes } from "./expr-tree.ts";

/** Ids the compiler gives the nodes it injects; the parser numbers from 1, so these never collide. */
const INJECTED_ID_BASE = 1_000_000_000n;
/** Operations whose cost grows with their operands, and which operands to charge for. */
const SIZED_OPERANDS: Readonly<Record<string, "all" | "last">> = {
  "_==_": "all",
  "_!=_": "all",
  "@in": "last",
  "_+_": "all",
  size: "all",
  contains: "all",
  startsWith: "all",
  endsWith: "all",
  matches: "all",
};

/** Numbers the injected nodes of one expression (ids need only be unique within it). */
class NodeFactory {
  #next = INJECTED_ID_BASE;
  call(fn: string, args: Expr[]): Expr {
    return create(ExprSchema, {
      id: this.#next++,
      exprKind: { case: "callExpr", value: { function: fn, args } },
    });
  }
  int(n: number): Expr {
    return create(ExprSchema, {
      id: this.#next++,
      exprKind: { case: "constExpr", value: { constantKind: { case: "int64Value", value: BigInt(n) } } },
    });
  }
}

/**
 * Injects the budget: each comprehension's loop condition becomes `@wif_step(weight) && cond`, and each
 * operand of a size-dependent operation `x` becomes `@wif_charge(x)`. Users cannot write these names.
 */
export function instrument(e: Expr | undefined, nodes: NodeFactory = new NodeFactory()): void {
  if (!e) return;
  const k = e.exprKind;
  // The weight is the body as written, before instrumenting it adds nodes.
  const weight =
    k.case === "comprehensionExpr"
      ? Math.max(1, countNodes(k.value.loopCondition) + countNodes(k.value.loopStep))
      : 0;
  for (const child of childrenOf(e)) instrument(child, nodes);
  if (k.case === "comprehensionExpr") chargeIterations(k.value, weight, nodes);
  else if (k.case === "callExpr") chargeOperands(k.value, nodes);
}

/** Iterating first copies the range (charged by its size), then runs the body once per element. */
function chargeIterations(c: Expr_Comprehension, weight: number, nodes: NodeFactory): void {
  if (c.iterRange) c.iterRange = nodes.call(CHARGE_FN, [c.iterRange]);
  if (c.loopCondition) {
    c.loopCondition = nodes.call("_&&_", [nodes.call(STEP_FN, [nodes.int(weight)]), c.loopCondition]);
  }
}

function chargeOperands(v: Expr_Call, nodes: NodeFactory): void {
  const which = SIZED_OPERANDS[v.function];
  if (!which) return;
  if (v.target) v.target = nodes.call(CHARGE_FN, [v.target]);
  v.args = v.args.map((a, i) =>
    which === "all" || i === v.args.length - 1 ? nodes.call(CHARGE_FN, [a]) : a,
  );
}
