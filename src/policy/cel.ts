/**
 * `spec.condition` (CONTRACT §5): a CEL expression over `claims`, `request` and `now`, parsed and type-checked
 * when the policy loads and evaluated per request by @bufbuild/cel. The implementation lives in ./cel/.
 *
 * @bufbuild/cel 0.6 ships a parser and an evaluator but no type checker (its `Checker` handles constants and
 * identifiers only) and no cost limit, so both live here:
 *
 * - the checker (cel/checker/) types every node against the declarations (`claims: map(string, dyn)`,
 *   `request: {audience: string, scopes: list(string), sourceIp: string}`, `now: google.protobuf.Timestamp`)
 *   and the subset of the standard library that @bufbuild/cel implements (cel/types/); unknown variables,
 *   fields, functions and ill-typed operators are load-time errors, and the expression must type to `bool` (or
 *   `dyn`, whose runtime value must then be a bool).
 * - the cost bound is static plus runtime (see CONDITION_LIMITS): the source, its bracket nesting, node
 *   count and depth are capped at load time; at run time every comprehension iteration and every operation
 *   whose cost grows with its operands (`==` on lists, `in`, `+`, string scans, `matches`) is charged to a
 *   per-evaluation budget through calls the compiler injects into the AST (cel/budget/). A condition that runs
 *   out of budget stops at its next loop step and is a non-match, so no condition can stall the event loop for
 *   more than about a budget's worth of steps, whatever the claims hold.
 */

export { compileCondition } from "./cel/compile.ts";
export type {
  CompiledCondition,
  ConditionInput,
  ConditionRequest,
  ConditionResult,
} from "./cel/condition-types.ts";
export { ConditionError } from "./cel/errors.ts";
export { CONDITION_LIMITS } from "./cel/limits.ts";
