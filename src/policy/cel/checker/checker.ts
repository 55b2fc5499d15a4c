import type { Expr, ParsedExpr } from "@bufbuild/cel-spec/cel/expr/syntax_pb.js";
import type { ClaimShape } from "../../platforms.ts";
import { ConditionError } from "../errors.ts";
import { CONDITION_LIMITS } from "../limits.ts";
import type { CelT } from "../types/cel-type.ts";
import { VARIABLES } from "../types/declarations.ts";
import { checkCall } from "./calls.ts";
import { claimPath, declaredClaimType } from "./claim-types.ts";
import { checkComprehension } from "./comprehension.ts";
import type { CheckContext } from "./context.ts";
import { checkConstant, checkList, checkMapLiteral } from "./literals.ts";
import { checkIdent, checkSelect } from "./references.ts";

/**
 * Types every node against the declarations and the standard library (@bufbuild/cel 0.6 has no type checker),
 * and enforces the static node and depth limits (CONDITION_LIMITS) on the expanded AST.
 */
export class Checker implements CheckContext {
  readonly scopes: Array<ReadonlyMap<string, CelT>> = [];
  readonly #source: string;
  readonly #positions: Readonly<Record<string, number>>;
  #nodes = 0;

  readonly #shape: ClaimShape | undefined;

  readonly #variables: Readonly<Record<string, CelT>>;

  constructor(
    source: string,
    parsed: ParsedExpr,
    shape?: ClaimShape,
    variables: Readonly<Record<string, CelT>> = VARIABLES,
  ) {
    this.#source = source;
    this.#variables = variables;
    this.#positions = parsed.sourceInfo?.positions ?? {};
    this.#shape = shape;
  }

  claimType(e: Expr): CelT | undefined {
    if (!this.#shape) return undefined;
    const path = claimPath(e, (name) => this.scopes.some((s) => s.has(name)));
    return path === undefined ? undefined : declaredClaimType(this.#shape, path);
  }

  fail(e: Expr, message: string): never {
    const offset = this.#positions[e.id.toString()];
    if (offset === undefined) throw new ConditionError(message);
    const before = this.#source.slice(0, offset);
    const line = before.split("\n").length;
    const column = offset - (before.lastIndexOf("\n") + 1) + 1;
    throw new ConditionError(message, { line, column });
  }

  lookup(name: string): CelT | undefined {
    for (let i = this.scopes.length - 1; i >= 0; i--) {
      const t = this.scopes[i]?.get(name);
      if (t) return t;
    }
    return this.#variables[name];
  }

  check(e: Expr, depth: number): CelT {
    this.#nodes++;
    if (this.#nodes > CONDITION_LIMITS.maxNodes) {
      this.fail(
        e,
        `too complex: more than ${CONDITION_LIMITS.maxNodes} expression nodes after macro expansion`,
      );
    }
    if (depth > CONDITION_LIMITS.maxDepth)
      this.fail(e, `too deeply nested (more than ${CONDITION_LIMITS.maxDepth} levels)`);
    const k = e.exprKind;
    switch (k.case) {
      case "constExpr":
        return checkConstant(this, e, k.value);
      case "identExpr":
        return checkIdent(this, e, k.value.name);
      case "selectExpr":
        return checkSelect(this, e, k.value, depth);
      case "callExpr":
        return checkCall(this, e, k.value, depth);
      case "listExpr":
        return checkList(this, e, k.value, depth);
      case "structExpr":
        return checkMapLiteral(this, e, k.value, depth);
      case "comprehensionExpr":
        return checkComprehension(this, e, k.value, depth);
      default:
        return this.fail(e, "empty expression");
    }
  }
}
