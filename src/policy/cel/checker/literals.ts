import type {
  Constant,
  Expr,
  Expr_CreateList,
  Expr_CreateStruct,
} from "@bufbuild/cel-spec/cel/expr/syntax_pb.js";
import {
  BOOL,
  type CelT,
  DYN,
  INT,
  isPrim,
  list,
  map,
  type Prim,
  prim,
  STRING,
  show,
} from "../types/cel-type.ts";
import { join } from "../types/relations.ts";
import type { CheckContext } from "./context.ts";

const CONSTANT_TYPES: ReadonlyMap<string | undefined, CelT> = new Map([
  ["boolValue", BOOL],
  ["int64Value", INT],
  ["uint64Value", prim("uint")],
  ["doubleValue", prim("double")],
  ["stringValue", STRING],
  ["bytesValue", prim("bytes")],
  ["nullValue", prim("null_type")],
]);

export function checkConstant(ctx: CheckContext, e: Expr, constant: Constant): CelT {
  return CONSTANT_TYPES.get(constant.constantKind.case) ?? ctx.fail(e, "unsupported literal");
}

/** `[a, b]`: a list of the elements' common type. */
export function checkList(ctx: CheckContext, e: Expr, literal: Expr_CreateList, depth: number): CelT {
  if (literal.optionalIndices.length > 0) ctx.fail(e, "optional list elements are not supported");
  const types = literal.elements.map((el) => ctx.check(el, depth + 1));
  return list(types.reduce<CelT | undefined>((a, b) => (a ? join(a, b) : b), undefined) ?? DYN);
}

/** `{k: v}`: a map of the keys' and values' common types; messages cannot be built. */
export function checkMapLiteral(ctx: CheckContext, e: Expr, literal: Expr_CreateStruct, depth: number): CelT {
  if (literal.messageName !== "")
    ctx.fail(e, `message construction (${literal.messageName}{…}) is not supported`);
  let key: CelT | undefined;
  let value: CelT | undefined;
  for (const entry of literal.entries) {
    if (entry.optionalEntry) ctx.fail(e, "optional map entries are not supported");
    if (entry.keyKind.case !== "mapKey" || !entry.value) return ctx.fail(e, "malformed map literal");
    const kt = ctx.check(entry.keyKind.value, depth + 1);
    if (!["dyn", "string", "int", "uint", "bool"].some((n) => isPrim(kt, n as Prim))) {
      ctx.fail(entry.keyKind.value, `a map key must be string, int, uint or bool, not ${show(kt)}`);
    }
    const vt = ctx.check(entry.value, depth + 1);
    key = key ? join(key, kt) : kt;
    value = value ? join(value, vt) : vt;
  }
  return map(key ?? DYN, value ?? DYN);
}
