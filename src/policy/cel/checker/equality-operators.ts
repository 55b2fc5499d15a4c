import { BOOL, type CelT, isDyn, isPrim, STRING, show } from "../types/cel-type.ts";
import { assignable, comparable } from "../types/relations.ts";
import type { CallSite, CheckContext } from "./context.ts";

/** `==` and `!=`: operands of comparable types; values are never converted. */
export function checkEquality(ctx: CheckContext, call: CallSite): CelT {
  const a = ctx.check(call.arg(0), call.depth + 1);
  const b = ctx.check(call.arg(1), call.depth + 1);
  if (!comparable(a, b))
    ctx.fail(call.e, `cannot compare ${show(a)} with ${show(b)}; values are never converted`);
  return BOOL;
}

/** `x in c`: an element of a list, a key of a map, a field name of `request`. */
export function checkIn(ctx: CheckContext, call: CallSite): CelT {
  const elem = ctx.check(call.arg(0), call.depth + 1);
  const container = ctx.check(call.arg(1), call.depth + 1);
  const ok =
    isDyn(container) ||
    (container.kind === "list" && comparable(elem, container.elem)) ||
    (container.kind === "map" && comparable(elem, container.key) && !isPrim(elem, "null_type")) ||
    (container.kind === "request" && assignable(STRING, elem));
  if (!ok) ctx.fail(call.e, `'in' cannot look for ${show(elem)} in ${show(container)}`);
  return BOOL;
}
