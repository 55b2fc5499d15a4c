import { RE2JS } from "re2js";
import { isTimeZone } from "../../access.ts";
import { constantHolds } from "../environment.ts";
import { isTimeGetter } from "../types/time-getters.ts";
import type { CallSite, CheckContext } from "./context.ts";

/** Literal arguments that can only fail at run time are checked now: a broken one would deny forever. */
export function checkLiteralArguments(ctx: CheckContext, { e, fn, args }: CallSite): void {
  const arg = args[0];
  const literal =
    arg?.exprKind.case === "constExpr" && arg.exprKind.value.constantKind.case === "stringValue"
      ? arg.exprKind.value.constantKind.value
      : undefined;
  if (literal === undefined || args.length !== 1) return;
  if (fn === "matches") {
    try {
      RE2JS.compile(literal);
    } catch (err) {
      ctx.fail(
        e,
        `invalid regular expression in matches(): ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  } else if (fn === "timestamp" || fn === "duration") {
    if (!constantHolds(e)) ctx.fail(e, `invalid ${fn} literal "${literal}"`);
  } else if (isTimeGetter(fn) && !isTimeZone(literal)) {
    ctx.fail(e, `unknown time zone "${literal}" in ${fn}()`);
  }
}
