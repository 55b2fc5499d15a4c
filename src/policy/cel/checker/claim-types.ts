import type { Expr } from "@bufbuild/cel-spec/cel/expr/syntax_pb.js";
import type { ClaimShape, ClaimType } from "../../platforms.ts";
import { BOOL, type CelT, DYN, list, map, prim, STRING } from "../types/cel-type.ts";

/** JSON claim types as CEL sees them once bound (numbers are doubles, as in google.protobuf.Value). */
const CEL_OF: Readonly<Record<ClaimType, CelT>> = {
  string: STRING,
  number: prim("double"),
  boolean: BOOL,
  array: list(DYN),
  object: map(STRING, DYN),
};

/** RFC 6901 pointer of a claim path, as claim shapes key it. */
const pointer = (path: readonly string[]) =>
  path.map((t) => `/${t.replaceAll("~", "~0").replaceAll("/", "~1")}`).join("");

/**
 * The claim path `e` denotes: `claims.a`, `claims["a"]`, `claims["kubernetes.io"].namespace` … — undefined for
 * anything else, and when a macro variable named `claims` shadows the declaration.
 */
export function claimPath(e: Expr, shadowed: (name: string) => boolean): string[] | undefined {
  const k = e.exprKind;
  if (k.case === "identExpr") return k.value.name === "claims" && !shadowed("claims") ? [] : undefined;
  if (k.case === "selectExpr" && !k.value.testOnly && k.value.operand) {
    const base = claimPath(k.value.operand, shadowed);
    return base === undefined ? undefined : [...base, k.value.field];
  }
  if (k.case === "callExpr" && k.value.function === "_[_]" && k.value.args.length === 2) {
    const [operand, key] = k.value.args as [Expr, Expr];
    const base = claimPath(operand, shadowed);
    const c = key.exprKind;
    if (base === undefined || c.case !== "constExpr" || c.value.constantKind.case !== "stringValue")
      return undefined;
    return [...base, c.value.constantKind.value];
  }
  return undefined;
}

/** The declared CEL type of the claim at `path` in `shape`, or undefined when the shape does not declare it. */
export function declaredClaimType(shape: ClaimShape | undefined, path: readonly string[]): CelT | undefined {
  if (!shape || path.length === 0) return undefined;
  const t = shape.get(pointer(path));
  return t === undefined ? undefined : CEL_OF[t];
}
