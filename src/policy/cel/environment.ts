import { CelScalar, celEnv, isCelError, mapType, plan } from "@bufbuild/cel";
import type { Expr, ParsedExpr } from "@bufbuild/cel-spec/cel/expr/syntax_pb.js";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { budgetFunctions } from "./budget/budget-functions.ts";
import { Meter } from "./budget/meter.ts";
import { STANDARD_OVERRIDES } from "./functions/overrides.ts";
import { re2Patterns } from "./functions/re2-patterns.ts";
import { TIMESTAMP } from "./functions/runtime-types.ts";

const VARIABLES = {
  claims: mapType(CelScalar.STRING, CelScalar.DYN),
  /** Only an `actors` entry's condition can name it (the checker declares it there alone). */
  subject: mapType(CelScalar.STRING, CelScalar.DYN),
  request: mapType(CelScalar.STRING, CelScalar.DYN),
  now: TIMESTAMP,
};

/**
 * The run-time environment conditions are planned in: the variables, the budget (its meter) and the overrides, and
 * the `matches` pattern cache. One per compiled policy set, which owns it: a reload drops the old one whole.
 */
export class ConditionRuntime {
  readonly meter = new Meter();
  readonly #env = celEnv({
    variables: VARIABLES,
    funcs: [...budgetFunctions(this.meter), ...STANDARD_OVERRIDES],
    re2: re2Patterns(),
  });

  /** A checked and instrumented condition, ready to run against bound variables. */
  plan(parsed: ParsedExpr) {
    return plan(this.#env, parsed);
  }
}

/**
 * For load-time checks of literal conversions (`timestamp("…")`, `duration("…")`) only: no budget functions
 * (nothing is instrumented yet) and no pattern cache (`matches` literals are checked by RE2 directly): stateless.
 */
const CONSTANT_ENV = celEnv({ variables: VARIABLES, funcs: STANDARD_OVERRIDES });

/** Evaluates a variable-free subexpression (a literal conversion) at load time. */
export function constantHolds(e: Expr): boolean {
  try {
    return !isCelError(
      plan(CONSTANT_ENV, e)({ claims: {}, subject: {}, request: {}, now: timestampFromMs(0) }),
    );
  } catch {
    return false;
  }
}

export type ConditionProgram = ReturnType<ConditionRuntime["plan"]>;
export type ConditionBindings = Parameters<ConditionProgram>[0];
