import type { ClaimShape } from "../platforms.ts";
import { instrument } from "./budget/instrument.ts";
import { Checker } from "./checker/checker.ts";
import type { CompiledCondition } from "./condition-types.ts";
import { ConditionRuntime } from "./environment.ts";
import { ConditionError } from "./errors.ts";
import { runProgram } from "./evaluation/run-program.ts";
import { checkSource } from "./source/check-source.ts";
import { parseSource } from "./source/parse-source.ts";
import { isDyn, isPrim, show } from "./types/cel-type.ts";
import { ACTOR_VARIABLES, VARIABLES } from "./types/declarations.ts";

/**
 * Parses, type-checks and bounds a condition, planned in `runtime` (the compiled set's, which then owns it).
 * Throws ConditionError with a position and what is wrong.
 */
export function compileCondition(
  source: string,
  shapes: ReadonlyArray<{ provider: string; shape: ClaimShape }> = [],
  runtime: ConditionRuntime = new ConditionRuntime(),
  /** An `actors` entry's condition also sees `subject`, the subject token's claims (CONTRACT §9). */
  scope: "policy" | "actor" = "policy",
): CompiledCondition {
  checkSource(source);
  const parsed = parseSource(source);
  // Checked once per provider shape (CONTRACT §5 "Claim types"): `claims.run_attempt == 1` is a load error
  // for GitHub, whose claims are strings, and fine for a provider that declares no type for it.
  const passes = shapes.length === 0 ? [undefined] : shapes;
  for (const pass of passes) {
    let type: ReturnType<Checker["check"]>;
    try {
      type = new Checker(source, parsed, pass?.shape, scope === "actor" ? ACTOR_VARIABLES : VARIABLES).check(
        parsed.expr,
        1,
      );
    } catch (e) {
      if (e instanceof ConditionError && pass && shapes.length > 1)
        throw new ConditionError(`for provider ${pass.provider}: ${e.message}`);
      throw e;
    }
    if (!isPrim(type, "bool") && !isDyn(type)) {
      throw new ConditionError(`a condition must evaluate to bool, but this one is ${show(type)}`);
    }
  }
  instrument(parsed.expr);
  const program = runtime.plan(parsed);
  return { source, evaluate: (input) => runProgram(program, runtime.meter, input) };
}
