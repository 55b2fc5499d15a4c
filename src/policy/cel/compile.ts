import { instrument } from "./budget/instrument.ts";
import { Checker } from "./checker/checker.ts";
import type { CompiledCondition } from "./condition-types.ts";
import { planCondition } from "./environment.ts";
import { ConditionError } from "./errors.ts";
import { runProgram } from "./evaluation/run-program.ts";
import { checkSource } from "./source/check-source.ts";
import { parseSource } from "./source/parse-source.ts";
import { isDyn, isPrim, show } from "./types/cel-type.ts";

/**
 * Parses, type-checks and bounds a condition. Throws ConditionError with a position and what is wrong.
 */
export function compileCondition(source: string): CompiledCondition {
  checkSource(source);
  const parsed = parseSource(source);
  const type = new Checker(source, parsed).check(parsed.expr, 1);
  if (!isPrim(type, "bool") && !isDyn(type)) {
    throw new ConditionError(`a condition must evaluate to bool, but this one is ${show(type)}`);
  }
  instrument(parsed.expr);
  const program = planCondition(parsed);
  return { source, evaluate: (input) => runProgram(program, input) };
}
