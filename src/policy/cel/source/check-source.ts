import { ConditionError } from "../errors.ts";
import { CONDITION_LIMITS } from "../limits.ts";
import { nesting } from "./nesting.ts";

const utf8 = new TextEncoder();

/** The static limits on the text itself, checked before the (recursive) parser sees it. */
export function checkSource(source: string): void {
  const bytes = utf8.encode(source).length;
  if (bytes > CONDITION_LIMITS.maxSourceBytes) {
    throw new ConditionError(`too long: ${bytes} bytes, at most ${CONDITION_LIMITS.maxSourceBytes}`);
  }
  if (source.trim() === "") throw new ConditionError("empty condition");
  if (nesting(source) > CONDITION_LIMITS.maxNesting) {
    throw new ConditionError(
      `too deeply nested: more than ${CONDITION_LIMITS.maxNesting} levels of brackets`,
    );
  }
}
