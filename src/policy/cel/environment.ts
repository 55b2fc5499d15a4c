import { CelScalar, celEnv, isCelError, mapType, plan } from "@bufbuild/cel";
import type { Expr, ParsedExpr } from "@bufbuild/cel-spec/cel/expr/syntax_pb.js";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { BUDGET_FUNCTIONS } from "./budget/budget-functions.ts";
import { STANDARD_OVERRIDES } from "./functions/overrides.ts";
import { RE2_PATTERNS } from "./functions/re2-patterns.ts";
import { TIMESTAMP } from "./functions/runtime-types.ts";

/** The run-time environment every condition is planned in: its variables, the budget and the overrides. */
export const ENV = celEnv({
  variables: {
    claims: mapType(CelScalar.STRING, CelScalar.DYN),
    request: mapType(CelScalar.STRING, CelScalar.DYN),
    now: TIMESTAMP,
  },
  funcs: [...BUDGET_FUNCTIONS, ...STANDARD_OVERRIDES],
  re2: RE2_PATTERNS,
});

/** Evaluates a variable-free subexpression (a literal conversion) at load time. */
export function constantHolds(e: Expr): boolean {
  try {
    return !isCelError(plan(ENV, e)({ claims: {}, request: {}, now: timestampFromMs(0) }));
  } catch {
    return false;
  }
}

/** A checked and instrumented condition, ready to run against bound variables. */
export const planCondition = (parsed: ParsedExpr) => plan(ENV, parsed);

export type ConditionProgram = ReturnType<typeof planCondition>;
export type ConditionBindings = Parameters<ConditionProgram>[0];
