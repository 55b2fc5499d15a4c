import type { Expr, Expr_Call } from "@bufbuild/cel-spec/cel/expr/syntax_pb.js";
import { type CelT, list } from "../types/cel-type.ts";
import { join } from "../types/relations.ts";
import type { CallSite, CheckContext } from "./context.ts";
import { checkEquality, checkIn } from "./equality-operators.ts";
import { checkLiteralArguments } from "./literal-arguments.ts";
import { checkConditional, checkLogical } from "./logical-operators.ts";
import { resolveOverload } from "./overloads.ts";
import { checkIndex } from "./references.ts";

/** A call: the operators the checker types itself, else a standard-library function or method. */
export function checkCall(ctx: CheckContext, e: Expr, call: Expr_Call, depth: number): CelT {
  const { function: fn, target, args } = call;
  const site: CallSite = {
    e,
    fn,
    target,
    args,
    depth,
    arg(i) {
      const a = args[i];
      if (!a) return ctx.fail(e, `'${fn}' is missing an argument`);
      return a;
    },
  };
  switch (fn) {
    case "_&&_":
    case "_||_":
    case "@not_strictly_false":
    case "__not_strictly_false__":
      return checkLogical(ctx, site);
    case "_?_:_":
      return checkConditional(ctx, site);
    case "_==_":
    case "_!=_":
      return checkEquality(ctx, site);
    case "@in":
      return checkIn(ctx, site);
    case "_[_]":
      return checkIndex(ctx, site);
    case "_+_":
      return checkPlus(ctx, site);
    default:
      return checkLibraryCall(ctx, site);
  }
}

/** `+` on two lists concatenates them; on anything else it is a library overload. */
function checkPlus(ctx: CheckContext, call: CallSite): CelT {
  const a = ctx.check(call.arg(0), call.depth + 1);
  const b = ctx.check(call.arg(1), call.depth + 1);
  if (a.kind === "list" && b.kind === "list") return list(join(a.elem, b.elem));
  return resolveOverload(ctx, call.e, call.fn, undefined, [a, b]);
}

function checkLibraryCall(ctx: CheckContext, call: CallSite): CelT {
  const receiver = call.target ? ctx.check(call.target, call.depth + 1) : undefined;
  const argTypes = call.args.map((a) => ctx.check(a, call.depth + 1));
  const result = resolveOverload(ctx, call.e, call.fn, receiver, argTypes);
  checkLiteralArguments(ctx, call);
  return result;
}
