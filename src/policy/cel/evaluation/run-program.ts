import { isCelError } from "@bufbuild/cel";
import type { Meter } from "../budget/meter.ts";
import type { ConditionInput, ConditionResult } from "../condition-types.ts";
import type { ConditionProgram } from "../environment.ts";
import { CONDITION_LIMITS } from "../limits.ts";
import { bindInput } from "./bind-input.ts";
import { describeError, typeNameOf } from "./describe-result.ts";

/** One evaluation under a fresh budget; every failure is a non-match with a reason. */
export function runProgram(program: ConditionProgram, meter: Meter, input: ConditionInput): ConditionResult {
  let result: ReturnType<ConditionProgram>;
  try {
    const bindings = bindInput(input);
    if ("error" in bindings) return { ok: false, error: bindings.error };
    meter.start(CONDITION_LIMITS.budget);
    result = program(bindings);
  } catch {
    return { ok: false, error: "could not be evaluated" };
  }
  if (meter.exceeded)
    return { ok: false, error: `exceeded its evaluation budget of ${CONDITION_LIMITS.budget} units` };
  if (isCelError(result)) return { ok: false, error: describeError(result.message) };
  if (typeof result !== "boolean")
    return { ok: false, error: `evaluated to ${typeNameOf(result)}, not bool` };
  return result ? { ok: true } : { ok: false };
}
