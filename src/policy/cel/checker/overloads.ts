import type { Expr } from "@bufbuild/cel-spec/cel/expr/syntax_pb.js";
import { type CelT, DYN, show } from "../types/cel-type.ts";
import { LIBRARY } from "../types/library.ts";
import { assignable } from "../types/relations.ts";
import type { CheckContext } from "./context.ts";

/** The result type of a library call: the overloads' common result, dyn when the matching ones differ. */
export function resolveOverload(
  ctx: CheckContext,
  e: Expr,
  fn: string,
  receiver: CelT | undefined,
  args: readonly CelT[],
): CelT {
  const overloads = LIBRARY.get(fn);
  if (!overloads) {
    return ctx.fail(
      e,
      `unknown function '${fn}' (conditions use the CEL standard library without extensions)`,
    );
  }
  const candidates = overloads.filter(
    (o) =>
      (o.receiver === undefined) === (receiver === undefined) &&
      (o.receiver === undefined || receiver === undefined || assignable(o.receiver, receiver)) &&
      o.args.length === args.length &&
      o.args.every((p, i) => {
        const a = args[i];
        return a !== undefined && assignable(p, a);
      }),
  );
  const first = candidates[0];
  if (!first) {
    const call = `${receiver ? `${show(receiver)}.` : ""}${fn}(${args.map(show).join(", ")})`;
    return ctx.fail(e, `no matching overload for ${call}`);
  }
  return candidates.every((c) => show(c.result) === show(first.result)) ? first.result : DYN;
}
