import type { Expr, Expr_Select } from "@bufbuild/cel-spec/cel/expr/syntax_pb.js";
import { BOOL, type CelT, DYN, isDyn, isPrim, STRING, show, TYPE } from "../types/cel-type.ts";
import { REQUEST_FIELDS, TYPE_NAMES } from "../types/declarations.ts";
import { assignable, comparable } from "../types/relations.ts";
import type { CallSite, CheckContext } from "./context.ts";

/** A variable, a macro variable or a type name; anything else is undeclared. */
export function checkIdent(ctx: CheckContext, e: Expr, name: string): CelT {
  const t = ctx.lookup(name);
  if (t) return t;
  if (TYPE_NAMES.has(name)) return TYPE;
  return ctx.fail(e, `undeclared reference to '${name}' (a condition can use claims, request and now)`);
}

/** `x.f`, or `has(x.f)` when testOnly. */
export function checkSelect(ctx: CheckContext, e: Expr, select: Expr_Select, depth: number): CelT {
  const { operand, field, testOnly } = select;
  if (!operand) return ctx.fail(e, "malformed field selection");
  const qualified = qualifiedTypeName(ctx, e);
  if (qualified !== undefined) return TYPE;
  const t = ctx.check(operand, depth + 1);
  const fieldType = ctx.claimType(e) ?? fieldOf(ctx, e, t, field);
  return testOnly ? BOOL : fieldType;
}

/** `c[i]`: a list by int or uint, a map by its key type, `request` by a field name. */
export function checkIndex(ctx: CheckContext, call: CallSite): CelT {
  const c = ctx.check(call.arg(0), call.depth + 1);
  const index = ctx.check(call.arg(1), call.depth + 1);
  const declared = ctx.claimType(call.e);
  if (declared) return declared;
  if (isDyn(c)) return DYN;
  if (c.kind === "list" && (isDyn(index) || isPrim(index, "int") || isPrim(index, "uint"))) return c.elem;
  if (c.kind === "map" && comparable(index, c.key)) return c.value;
  if (c.kind === "request" && assignable(STRING, index)) {
    const key = call.arg(1).exprKind;
    return key.case === "constExpr" && key.value.constantKind.case === "stringValue"
      ? fieldOf(ctx, call.e, c, key.value.constantKind.value)
      : DYN;
  }
  return ctx.fail(call.e, `cannot index ${show(c)} with ${show(index)}`);
}

/** `google.protobuf.Timestamp` parses as field selections on an undeclared `google`: a type name. */
function qualifiedTypeName(ctx: CheckContext, e: Expr): string | undefined {
  const parts: string[] = [];
  let cur: Expr | undefined = e;
  while (cur?.exprKind.case === "selectExpr" && !cur.exprKind.value.testOnly) {
    parts.unshift(cur.exprKind.value.field);
    cur = cur.exprKind.value.operand;
  }
  if (cur?.exprKind.case !== "identExpr" || ctx.lookup(cur.exprKind.value.name)) return undefined;
  const name = [cur.exprKind.value.name, ...parts].join(".");
  return TYPE_NAMES.has(name) ? name : undefined;
}

function fieldOf(ctx: CheckContext, e: Expr, t: CelT, name: string): CelT {
  if (t.kind === "request") {
    const f = REQUEST_FIELDS[name];
    if (!f)
      return ctx.fail(e, `request has no field '${name}' (it has ${Object.keys(REQUEST_FIELDS).join(", ")})`);
    return f;
  }
  if (t.kind === "map" && assignable(t.key, STRING)) return t.value;
  if (isDyn(t)) return DYN;
  return ctx.fail(e, `type ${show(t)} has no field '${name}'`);
}
