import {
  type CelInput,
  type CelList,
  CelScalar,
  type CelValue,
  celEnv,
  celFunc,
  celList,
  celMethod,
  isCelError,
  isCelList,
  isCelMap,
  listType,
  mapType,
  objectType,
  parse,
  plan,
} from "@bufbuild/cel";
import { type Expr, ExprSchema, type ParsedExpr } from "@bufbuild/cel-spec/cel/expr/syntax_pb.js";
import { create } from "@bufbuild/protobuf";
import { TimestampSchema, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { RE2JS } from "re2js";
import { isTimeZone, type ZonedTime, zonedTime } from "./access.ts";

/**
 * `spec.condition` (CONTRACT §5): a CEL expression over `claims`, `request` and `now`, parsed and type-checked
 * when the policy loads and evaluated per request by @bufbuild/cel.
 *
 * @bufbuild/cel 0.6 ships a parser and an evaluator but no type checker (its `Checker` handles constants and
 * identifiers only) and no cost limit, so both live here:
 *
 * - the checker below types every node against the declarations (`claims: map(string, dyn)`,
 *   `request: {audience: string, scopes: list(string), sourceIp: string}`, `now: google.protobuf.Timestamp`)
 *   and the subset of the standard library that @bufbuild/cel implements; unknown variables, fields,
 *   functions and ill-typed operators are load-time errors, and the expression must type to `bool` (or
 *   `dyn`, whose runtime value must then be a bool).
 * - the cost bound is static plus runtime (see CONDITION_LIMITS): the source, its bracket nesting, node
 *   count and depth are capped at load time; at run time every comprehension iteration and every operation
 *   whose cost grows with its operands (`==` on lists, `in`, `+`, string scans, `matches`) is charged to a
 *   per-evaluation budget through calls the compiler injects into the AST. A condition that runs out of
 *   budget stops at its next loop step and is a non-match, so no condition can stall the event loop for
 *   more than about a budget's worth of steps, whatever the claims hold.
 */

/** Load-time and run-time bounds of a condition. */
export const CONDITION_LIMITS = {
  /** UTF-8 bytes of source text. */
  maxSourceBytes: 4096,
  /** Nesting of (), [] and {} in the source, checked before parsing (the parser is recursive). */
  maxNesting: 32,
  /** AST nodes after macro expansion (`all`, `exists`, … expand to ~8 nodes each). */
  maxNodes: 512,
  /** AST depth after macro expansion. */
  maxDepth: 64,
  /**
   * Cost units one evaluation may spend. A comprehension iteration costs the node count of its body; a
   * size-dependent operation costs 1 + its operands' size (list/map entries, string length / 64).
   */
  budget: 100_000,
} as const;

/** A condition that does not parse, does not type-check or exceeds the static limits. */
export class ConditionError extends Error {
  override name = "ConditionError";
  /** 1-based position in the source, when the error has one. */
  readonly line: number | undefined;
  readonly column: number | undefined;
  constructor(message: string, position?: { line: number; column: number }) {
    super(position ? `line ${position.line}, column ${position.column}: ${message}` : message);
    this.line = position?.line;
    this.column = position?.column;
  }
}

/** `request` as a condition sees it. An empty or absent `sourceIp` is unknown: `has(request.sourceIp)` is false. */
export interface ConditionRequest {
  audience: string;
  /** null (the request named none) binds as an empty list. */
  scopes: readonly string[] | null;
  sourceIp?: string | undefined;
}

export interface ConditionInput {
  /** The verified token's payload (JSON values). */
  claims: Readonly<Record<string, unknown>>;
  request: ConditionRequest;
  now: Date;
}

/** `ok` only when the condition evaluated to `true`; `error` says why it could not (never a claim value). */
export interface ConditionResult {
  ok: boolean;
  error?: string;
}

export interface CompiledCondition {
  readonly source: string;
  /** Never throws: a runtime error (missing key, wrong type, budget) is a non-match. */
  evaluate(input: ConditionInput): ConditionResult;
}

// ---------------------------------------------------------------------------------------------------------
// Types

type Prim =
  | "dyn"
  | "bool"
  | "int"
  | "uint"
  | "double"
  | "string"
  | "bytes"
  | "null_type"
  | "type"
  | "google.protobuf.Timestamp"
  | "google.protobuf.Duration";

type CelT =
  | { kind: "prim"; name: Prim }
  | { kind: "list"; elem: CelT }
  | { kind: "map"; key: CelT; value: CelT }
  /** The `request` variable: a map at run time, a record with known fields to the checker. */
  | { kind: "request" };

const prim = (name: Prim): CelT => ({ kind: "prim", name });
const DYN = prim("dyn");
const BOOL = prim("bool");
const INT = prim("int");
const STRING = prim("string");
const TYPE = prim("type");
const list = (elem: CelT): CelT => ({ kind: "list", elem });
const map = (key: CelT, value: CelT): CelT => ({ kind: "map", key, value });

const REQUEST_FIELDS: Readonly<Record<string, CelT>> = {
  audience: STRING,
  scopes: list(STRING),
  sourceIp: STRING,
};

const VARIABLES: Readonly<Record<string, CelT>> = {
  claims: map(STRING, DYN),
  request: { kind: "request" },
  now: prim("google.protobuf.Timestamp"),
};

/** Identifiers that denote types, for `type(x) == string`. */
const TYPE_NAMES = new Set([
  "bool",
  "int",
  "uint",
  "double",
  "string",
  "bytes",
  "list",
  "map",
  "null_type",
  "type",
  "google.protobuf.Timestamp",
  "google.protobuf.Duration",
]);

function show(t: CelT): string {
  switch (t.kind) {
    case "prim":
      return t.name;
    case "list":
      return `list(${show(t.elem)})`;
    case "map":
      return `map(${show(t.key)}, ${show(t.value)})`;
    case "request":
      return "request";
  }
}

const isDyn = (t: CelT) => t.kind === "prim" && t.name === "dyn";
const isPrim = (t: CelT, name: Prim) => t.kind === "prim" && t.name === name;
const isNumeric = (t: CelT) =>
  t.kind === "prim" && (t.name === "int" || t.name === "uint" || t.name === "double");

/** Can a value of type `from` be passed where `to` is declared? `dyn` on either side defers to run time. */
function assignable(to: CelT, from: CelT): boolean {
  if (isDyn(to) || isDyn(from)) return true;
  if (to.kind === "list" && from.kind === "list") return assignable(to.elem, from.elem);
  if (to.kind === "map" && from.kind === "map")
    return assignable(to.key, from.key) && assignable(to.value, from.value);
  if (to.kind === "map" && from.kind === "request") return assignable(to.key, STRING);
  if (to.kind === "prim" && from.kind === "prim") return to.name === from.name;
  return to.kind === from.kind;
}

/** May `==` compare the two? Numbers compare across int, uint and double (CEL heterogeneous equality). */
function comparable(a: CelT, b: CelT): boolean {
  if (isNumeric(a) && isNumeric(b)) return true;
  if (a.kind === "list" && b.kind === "list") return comparable(a.elem, b.elem);
  if (a.kind === "map" && b.kind === "map") return comparable(a.key, b.key) && comparable(a.value, b.value);
  return assignable(a, b);
}

/** The type of a value that is either `a` or `b` (list literals, map literals); dyn when they differ. */
function join(a: CelT, b: CelT): CelT {
  if (a.kind === "list" && b.kind === "list") return list(join(a.elem, b.elem));
  if (a.kind === "map" && b.kind === "map") return map(join(a.key, b.key), join(a.value, b.value));
  if (a.kind === "prim" && b.kind === "prim" && a.name === b.name) return a;
  if (a.kind === "request" && b.kind === "request") return a;
  return DYN;
}

// ---------------------------------------------------------------------------------------------------------
// The standard library, as @bufbuild/cel 0.6 implements it (std/logic, math, cast, time). Data, not code:
// `name(args) result` for functions, `receiver.name(args) result` for methods. `list` is list(dyn), `map` is
// map(dyn, dyn). Equality, `in`, indexing, `?:`, `&&`/`||` and list `+` are typed by the checker itself.

interface Overload {
  receiver: CelT | undefined;
  args: CelT[];
  result: CelT;
}

const NAMED_TYPES: Readonly<Record<string, CelT>> = {
  dyn: DYN,
  bool: BOOL,
  int: INT,
  uint: prim("uint"),
  double: prim("double"),
  string: STRING,
  bytes: prim("bytes"),
  type: TYPE,
  timestamp: prim("google.protobuf.Timestamp"),
  duration: prim("google.protobuf.Duration"),
  list: list(DYN),
  map: map(DYN, DYN),
};

const RELATIONS = [
  "bool bool",
  "bytes bytes",
  "double double",
  "string string",
  "int int",
  "int uint",
  "uint int",
  "uint uint",
  "int double",
  "double int",
  "double uint",
  "uint double",
  "duration duration",
  "timestamp timestamp",
];
const TIME_GETTERS = [
  "getFullYear",
  "getMonth",
  "getDate",
  "getDayOfMonth",
  "getDayOfWeek",
  "getDayOfYear",
  "getHours",
  "getMinutes",
  "getSeconds",
  "getMilliseconds",
];

const SIGNATURES: readonly string[] = [
  "!_(bool) bool",
  "-_(int) int",
  "-_(double) double",
  ...["_<_", "_<=_", "_>_", "_>=_"].flatMap((op) =>
    RELATIONS.map((pair) => `${op}(${pair.replace(" ", ", ")}) bool`),
  ),
  ...["int", "uint", "double"].flatMap((t) =>
    ["_+_", "_-_", "_*_", "_/_"].map((op) => `${op}(${t}, ${t}) ${t}`),
  ),
  "_%_(int, int) int",
  "_%_(uint, uint) uint",
  "_+_(string, string) string",
  "_+_(bytes, bytes) bytes",
  "_+_(duration, duration) duration",
  "_+_(timestamp, duration) timestamp",
  "_+_(duration, timestamp) timestamp",
  "_-_(timestamp, timestamp) duration",
  "_-_(duration, duration) duration",
  "_-_(timestamp, duration) timestamp",
  ...["string", "bytes", "list", "map"].flatMap((t) => [`size(${t}) int`, `${t}.size() int`]),
  ...["contains", "startsWith", "endsWith", "matches"].map((m) => `string.${m}(string) bool`),
  ...["int", "uint", "double", "string", "timestamp", "duration"].map((t) => `int(${t}) int`),
  ...["uint", "int", "double", "string"].map((t) => `uint(${t}) uint`),
  ...["double", "int", "uint", "string"].map((t) => `double(${t}) double`),
  "bool(bool) bool",
  "bool(string) bool",
  "bytes(bytes) bytes",
  "bytes(string) bytes",
  ...["string", "bool", "int", "uint", "double", "bytes", "timestamp", "duration"].map(
    (t) => `string(${t}) string`,
  ),
  ...["timestamp", "string", "int"].map((t) => `timestamp(${t}) timestamp`),
  ...["duration", "string", "int"].map((t) => `duration(${t}) duration`),
  "type(dyn) type",
  "dyn(dyn) dyn",
  ...TIME_GETTERS.flatMap((g) => [`timestamp.${g}() int`, `timestamp.${g}(string) int`]),
  ...["getHours", "getMinutes", "getSeconds", "getMilliseconds"].map((g) => `duration.${g}() int`),
];

function namedType(name: string): CelT {
  const t = NAMED_TYPES[name.trim()];
  if (!t) throw new TypeError(`cel.ts: unknown type "${name}" in the signature table`);
  return t;
}

const LIBRARY: ReadonlyMap<string, readonly Overload[]> = (() => {
  const out = new Map<string, Overload[]>();
  for (const sig of SIGNATURES) {
    const m = /^(?:(\w+)\.)?([^.(]+)\((.*)\) (\w+)$/.exec(sig);
    if (!m) throw new TypeError(`cel.ts: malformed signature "${sig}"`);
    const [, receiver, name = "", args = "", result = ""] = m;
    const overload = {
      receiver: receiver === undefined ? undefined : namedType(receiver),
      args: args === "" ? [] : args.split(",").map(namedType),
      result: namedType(result),
    };
    out.set(name, [...(out.get(name) ?? []), overload]);
  }
  return out;
})();

// ---------------------------------------------------------------------------------------------------------
// Checking

/** Ids the compiler gives the nodes it injects; the parser numbers from 1, so these never collide. */
const INJECTED_ID_BASE = 1_000_000_000n;
const STEP_FN = "@wif_step";
const CHARGE_FN = "@wif_charge";
/** Operations whose cost grows with their operands, and which operands to charge for. */
const SIZED_OPERANDS: Readonly<Record<string, "all" | "last">> = {
  "_==_": "all",
  "_!=_": "all",
  "@in": "last",
  "_+_": "all",
  size: "all",
  contains: "all",
  startsWith: "all",
  endsWith: "all",
  matches: "all",
};

/** The parser names macro accumulators `@result`, which no user expression can spell. */
const isAccumulator = (e: Expr) => e.exprKind.case === "identExpr" && e.exprKind.value.name.startsWith("@");

class Checker {
  private readonly source: string;
  private readonly positions: Readonly<Record<string, number>>;
  private scopes: Array<ReadonlyMap<string, CelT>> = [];
  private nodes = 0;

  constructor(source: string, parsed: ParsedExpr) {
    this.source = source;
    this.positions = parsed.sourceInfo?.positions ?? {};
  }

  fail(e: Expr, message: string): never {
    const offset = this.positions[e.id.toString()];
    if (offset === undefined) throw new ConditionError(message);
    const before = this.source.slice(0, offset);
    const line = before.split("\n").length;
    const column = offset - (before.lastIndexOf("\n") + 1) + 1;
    throw new ConditionError(message, { line, column });
  }

  check(e: Expr, depth: number): CelT {
    this.nodes++;
    if (this.nodes > CONDITION_LIMITS.maxNodes) {
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
        return this.constant(e, k.value.constantKind.case);
      case "identExpr":
        return this.ident(e, k.value.name);
      case "selectExpr": {
        const { operand, field, testOnly } = k.value;
        if (!operand) return this.fail(e, "malformed field selection");
        const qualified = this.qualifiedTypeName(e);
        if (qualified !== undefined) return TYPE;
        const t = this.check(operand, depth + 1);
        const fieldType = this.field(e, t, field);
        return testOnly ? BOOL : fieldType;
      }
      case "callExpr":
        return this.call(e, k.value.function, k.value.target, k.value.args, depth);
      case "listExpr": {
        if (k.value.optionalIndices.length > 0) this.fail(e, "optional list elements are not supported");
        const types = k.value.elements.map((el) => this.check(el, depth + 1));
        return list(types.reduce<CelT | undefined>((a, b) => (a ? join(a, b) : b), undefined) ?? DYN);
      }
      case "structExpr": {
        if (k.value.messageName !== "")
          this.fail(e, `message construction (${k.value.messageName}{…}) is not supported`);
        let key: CelT | undefined;
        let value: CelT | undefined;
        for (const entry of k.value.entries) {
          if (entry.optionalEntry) this.fail(e, "optional map entries are not supported");
          if (entry.keyKind.case !== "mapKey" || !entry.value) return this.fail(e, "malformed map literal");
          const kt = this.check(entry.keyKind.value, depth + 1);
          if (!["dyn", "string", "int", "uint", "bool"].some((n) => isPrim(kt, n as Prim))) {
            this.fail(entry.keyKind.value, `a map key must be string, int, uint or bool, not ${show(kt)}`);
          }
          const vt = this.check(entry.value, depth + 1);
          key = key ? join(key, kt) : kt;
          value = value ? join(value, vt) : vt;
        }
        return map(key ?? DYN, value ?? DYN);
      }
      case "comprehensionExpr": {
        const c = k.value;
        if (!c.iterRange || !c.accuInit || !c.loopCondition || !c.loopStep || !c.result) {
          return this.fail(e, "malformed comprehension");
        }
        if (c.iterVar2 !== "") this.fail(e, "two-variable comprehensions are not supported");
        const range = this.check(c.iterRange, depth + 1);
        let elem: CelT;
        if (range.kind === "list") elem = range.elem;
        else if (range.kind === "map") elem = range.key;
        else if (range.kind === "request") elem = STRING;
        else if (isDyn(range)) elem = DYN;
        else
          return this.fail(c.iterRange, `cannot iterate over ${show(range)}; a macro needs a list or a map`);
        const accu = this.check(c.accuInit, depth + 1);
        this.scopes.push(new Map([[c.accuVar, accu]]));
        this.scopes.push(new Map([[c.iterVar, elem]]));
        const cond = this.check(c.loopCondition, depth + 1);
        if (!assignable(BOOL, cond))
          this.fail(c.loopCondition, `a macro's predicate must be bool, not ${show(cond)}`);
        const step = this.check(c.loopStep, depth + 1);
        this.scopes.pop();
        // The accumulator keeps its type when the step agrees; a list accumulator widens to the step's element type.
        const accuType = accu.kind === "list" && step.kind === "list" ? join(accu, step) : accu;
        if (!assignable(accuType, step))
          this.fail(c.loopStep, `a macro's predicate must be bool, not ${show(step)}`);
        this.scopes[this.scopes.length - 1] = new Map([[c.accuVar, accuType]]);
        const result = this.check(c.result, depth + 1);
        this.scopes.pop();
        return result;
      }
      default:
        return this.fail(e, "empty expression");
    }
  }

  private constant(e: Expr, kind: string | undefined): CelT {
    switch (kind) {
      case "boolValue":
        return BOOL;
      case "int64Value":
        return INT;
      case "uint64Value":
        return prim("uint");
      case "doubleValue":
        return prim("double");
      case "stringValue":
        return STRING;
      case "bytesValue":
        return prim("bytes");
      case "nullValue":
        return prim("null_type");
      default:
        return this.fail(e, "unsupported literal");
    }
  }

  private lookup(name: string): CelT | undefined {
    for (let i = this.scopes.length - 1; i >= 0; i--) {
      const t = this.scopes[i]?.get(name);
      if (t) return t;
    }
    return VARIABLES[name];
  }

  private ident(e: Expr, name: string): CelT {
    const t = this.lookup(name);
    if (t) return t;
    if (TYPE_NAMES.has(name)) return TYPE;
    return this.fail(e, `undeclared reference to '${name}' (a condition can use claims, request and now)`);
  }

  /** `google.protobuf.Timestamp` parses as field selections on an undeclared `google`: a type name. */
  private qualifiedTypeName(e: Expr): string | undefined {
    const parts: string[] = [];
    let cur: Expr | undefined = e;
    while (cur?.exprKind.case === "selectExpr" && !cur.exprKind.value.testOnly) {
      parts.unshift(cur.exprKind.value.field);
      cur = cur.exprKind.value.operand;
    }
    if (cur?.exprKind.case !== "identExpr" || this.lookup(cur.exprKind.value.name)) return undefined;
    const name = [cur.exprKind.value.name, ...parts].join(".");
    return TYPE_NAMES.has(name) ? name : undefined;
  }

  private field(e: Expr, t: CelT, name: string): CelT {
    if (t.kind === "request") {
      const f = REQUEST_FIELDS[name];
      if (!f)
        this.fail(e, `request has no field '${name}' (it has ${Object.keys(REQUEST_FIELDS).join(", ")})`);
      return f;
    }
    if (t.kind === "map" && assignable(t.key, STRING)) return t.value;
    if (isDyn(t)) return DYN;
    return this.fail(e, `type ${show(t)} has no field '${name}'`);
  }

  private call(e: Expr, fn: string, target: Expr | undefined, args: readonly Expr[], depth: number): CelT {
    const at = (i: number): Expr => {
      const a = args[i];
      if (!a) return this.fail(e, `'${fn}' is missing an argument`);
      return a;
    };
    switch (fn) {
      case "_&&_":
      case "_||_":
      case "@not_strictly_false":
      case "__not_strictly_false__": {
        // all() and exists() expand to `@result && p` / `@result || p`: a non-bool p is the macro's fault.
        const inMacro = args.some(isAccumulator);
        for (const a of args) {
          const t = this.check(a, depth + 1);
          if (assignable(BOOL, t)) continue;
          this.fail(
            a,
            inMacro
              ? `a macro's predicate must be bool, not ${show(t)}`
              : `'${fn === "_&&_" ? "&&" : "||"}' needs bool operands, not ${show(t)}`,
          );
        }
        return BOOL;
      }
      case "_?_:_": {
        const cond = this.check(at(0), depth + 1);
        if (!assignable(BOOL, cond)) {
          // filter() and exists_one() expand to `p ? … : @result`.
          const what = args.some(isAccumulator) ? "a macro's predicate" : "the condition of '?:'";
          this.fail(at(0), `${what} must be bool, not ${show(cond)}`);
        }
        const a = this.check(at(1), depth + 1);
        const b = this.check(at(2), depth + 1);
        if (!assignable(a, b) && !assignable(b, a))
          this.fail(e, `the branches of '?:' have different types, ${show(a)} and ${show(b)}`);
        return isDyn(a) ? b : a;
      }
      case "_==_":
      case "_!=_": {
        const a = this.check(at(0), depth + 1);
        const b = this.check(at(1), depth + 1);
        if (!comparable(a, b))
          this.fail(e, `cannot compare ${show(a)} with ${show(b)}; values are never converted`);
        return BOOL;
      }
      case "@in": {
        const elem = this.check(at(0), depth + 1);
        const container = this.check(at(1), depth + 1);
        const ok =
          isDyn(container) ||
          (container.kind === "list" && comparable(elem, container.elem)) ||
          (container.kind === "map" && comparable(elem, container.key) && !isPrim(elem, "null_type")) ||
          (container.kind === "request" && assignable(STRING, elem));
        if (!ok) this.fail(e, `'in' cannot look for ${show(elem)} in ${show(container)}`);
        return BOOL;
      }
      case "_[_]": {
        const c = this.check(at(0), depth + 1);
        const index = this.check(at(1), depth + 1);
        if (isDyn(c)) return DYN;
        if (c.kind === "list" && (isDyn(index) || isPrim(index, "int") || isPrim(index, "uint")))
          return c.elem;
        if (c.kind === "map" && comparable(index, c.key)) return c.value;
        if (c.kind === "request" && assignable(STRING, index)) {
          const key = at(1).exprKind;
          return key.case === "constExpr" && key.value.constantKind.case === "stringValue"
            ? this.field(e, c, key.value.constantKind.value)
            : DYN;
        }
        return this.fail(e, `cannot index ${show(c)} with ${show(index)}`);
      }
      case "_+_": {
        const a = this.check(at(0), depth + 1);
        const b = this.check(at(1), depth + 1);
        if (a.kind === "list" && b.kind === "list") return list(join(a.elem, b.elem));
        return this.resolve(e, fn, undefined, [a, b]);
      }
      default: {
        const receiver = target ? this.check(target, depth + 1) : undefined;
        const argTypes = args.map((a) => this.check(a, depth + 1));
        const result = this.resolve(e, fn, receiver, argTypes);
        this.literalArguments(e, fn, args);
        return result;
      }
    }
  }

  private resolve(e: Expr, fn: string, receiver: CelT | undefined, args: readonly CelT[]): CelT {
    const overloads = LIBRARY.get(fn);
    if (!overloads) {
      return this.fail(
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
      return this.fail(e, `no matching overload for ${call}`);
    }
    return candidates.every((c) => show(c.result) === show(first.result)) ? first.result : DYN;
  }

  /** Literal arguments that can only fail at run time are checked now: a broken one would deny forever. */
  private literalArguments(e: Expr, fn: string, args: readonly Expr[]): void {
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
        this.fail(
          e,
          `invalid regular expression in matches(): ${err instanceof Error ? err.message : String(err)}`,
        );
      }
    } else if (fn === "timestamp" || fn === "duration") {
      if (!constantHolds(e)) this.fail(e, `invalid ${fn} literal "${literal}"`);
    } else if (TIME_GETTERS.includes(fn) && !isTimeZone(literal)) {
      this.fail(e, `unknown time zone "${literal}" in ${fn}()`);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Run-time budget

/** The budget of the evaluation in progress. Evaluation is synchronous, so one slot serves every condition. */
let meter = { left: 0, exceeded: false };

function charge(units: number): boolean {
  meter.left -= units;
  if (meter.left < 0) meter.exceeded = true;
  return !meter.exceeded;
}

/** What an operand costs an operation that scans it. */
function sizeCost(v: CelValue): number {
  if (typeof v === "string") return Math.ceil(v.length / 64);
  if (v instanceof Uint8Array) return Math.ceil(v.length / 64);
  if (isCelList(v) || isCelMap(v)) return v.size;
  return 0;
}

/** Compiled `matches` patterns; a pattern may come from a claim, so the cache is bounded. */
const patterns = new Map<string, RE2JS>();
const MAX_CACHED_PATTERNS = 256;

const LIST = listType(CelScalar.DYN);
/** CEL's timestamp range: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z. */
const MIN_TIMESTAMP_SECONDS = -62_135_596_800n;
const MAX_TIMESTAMP_SECONDS = 253_402_300_799n;
const TIMESTAMP = objectType(TimestampSchema);

/**
 * CEL's timestamp getters (cel-spec "Timestamp functions"): UTC without an argument, else in the named zone.
 * They replace @bufbuild/cel's, which go through a local-time Date and so depend on the process's TZ (an hour
 * off around DST changes of that zone).
 */
const GETTERS: Readonly<Record<string, (t: ZonedTime) => number>> = {
  getFullYear: (t) => t.year,
  getMonth: (t) => t.month - 1,
  getDate: (t) => t.day,
  getDayOfMonth: (t) => t.day - 1,
  getDayOfWeek: (t) => t.weekday,
  getDayOfYear: (t) => (Date.UTC(t.year, t.month - 1, t.day) - Date.UTC(t.year, 0, 1)) / 86_400_000,
  getHours: (t) => t.hour,
  getMinutes: (t) => t.minute,
  getSeconds: (t) => t.second,
  getMilliseconds: (t) => t.millisecond,
};

const timestampGetters = Object.entries(GETTERS).flatMap(([name, get]) => {
  const impl = (ts: CelValue<typeof TIMESTAMP>, zone: string): bigint => {
    const { seconds, nanos } = ts.message;
    return BigInt(get(zonedTime(Number(seconds) * 1000 + Math.floor(nanos / 1_000_000), zone)));
  };
  return [
    celMethod(name, TIMESTAMP, [], CelScalar.INT, function () {
      return impl(this, "UTC");
    }),
    celMethod(name, TIMESTAMP, [CelScalar.STRING], CelScalar.INT, function (zone) {
      return impl(this, zone);
    }),
  ];
});

const ENV = celEnv({
  variables: {
    claims: mapType(CelScalar.STRING, CelScalar.DYN),
    request: mapType(CelScalar.STRING, CelScalar.DYN),
    now: TIMESTAMP,
  },
  funcs: [
    celFunc(STEP_FN, [CelScalar.INT], CelScalar.BOOL, (units) => charge(Number(units))),
    celFunc(CHARGE_FN, [CelScalar.DYN], CelScalar.DYN, (v) => {
      if (!charge(1 + sizeCost(v))) throw new Error("evaluation budget exceeded");
      return v;
    }),
    // Flat concatenation: the std ConcatList nests one level per `map`/`filter` step, which makes reading
    // the result quadratic. The copy is charged through the operands.
    celFunc("_+_", [LIST, LIST], LIST, (a: CelList, b: CelList) => celList([...a, ...b])),
    ...timestampGetters,
    // cel-spec: timestamp(int) counts seconds since the epoch (@bufbuild/cel 0.6 reads milliseconds).
    celFunc("timestamp", [CelScalar.INT], TIMESTAMP, (seconds) => {
      if (seconds < MIN_TIMESTAMP_SECONDS || seconds > MAX_TIMESTAMP_SECONDS)
        throw new Error("timestamp out of range");
      return create(TimestampSchema, { seconds });
    }),
  ],
  re2: {
    compile(pattern) {
      let re = patterns.get(pattern);
      if (!re) {
        if (patterns.size >= MAX_CACHED_PATTERNS) patterns.clear();
        re = RE2JS.compile(pattern);
        patterns.set(pattern, re);
      }
      const compiled = re;
      // CEL `matches` is a partial match (RE2 semantics, linear time).
      return { test: (text: string) => compiled.test(text) };
    },
  },
});

/** Evaluates a variable-free subexpression (a literal conversion) at load time. */
function constantHolds(e: Expr): boolean {
  try {
    return !isCelError(plan(ENV, e)({ claims: {}, request: {}, now: timestampFromMs(0) }));
  } catch {
    return false;
  }
}

let nextId = INJECTED_ID_BASE;
const call = (fn: string, args: Expr[]): Expr =>
  create(ExprSchema, { id: nextId++, exprKind: { case: "callExpr", value: { function: fn, args } } });
const intConst = (n: number): Expr =>
  create(ExprSchema, {
    id: nextId++,
    exprKind: { case: "constExpr", value: { constantKind: { case: "int64Value", value: BigInt(n) } } },
  });

function countNodes(e: Expr | undefined): number {
  if (!e) return 0;
  const k = e.exprKind;
  switch (k.case) {
    case "selectExpr":
      return 1 + countNodes(k.value.operand);
    case "callExpr":
      return 1 + countNodes(k.value.target) + k.value.args.reduce((n, a) => n + countNodes(a), 0);
    case "listExpr":
      return 1 + k.value.elements.reduce((n, a) => n + countNodes(a), 0);
    case "structExpr":
      return (
        1 +
        k.value.entries.reduce(
          (n, en) =>
            n + countNodes(en.value) + (en.keyKind.case === "mapKey" ? countNodes(en.keyKind.value) : 0),
          0,
        )
      );
    case "comprehensionExpr": {
      const c = k.value;
      return (
        1 +
        [c.iterRange, c.accuInit, c.loopCondition, c.loopStep, c.result].reduce(
          (n, x) => n + countNodes(x),
          0,
        )
      );
    }
    default:
      return 1;
  }
}

/**
 * Injects the budget: each comprehension's loop condition becomes `@wif_step(weight) && cond`, and each
 * operand of a size-dependent operation `x` becomes `@wif_charge(x)`. Users cannot write these names.
 */
function instrument(e: Expr | undefined): void {
  if (!e) return;
  const k = e.exprKind;
  switch (k.case) {
    case "selectExpr":
      instrument(k.value.operand);
      return;
    case "listExpr":
      k.value.elements.forEach(instrument);
      return;
    case "structExpr":
      for (const en of k.value.entries) {
        if (en.keyKind.case === "mapKey") instrument(en.keyKind.value);
        instrument(en.value);
      }
      return;
    case "comprehensionExpr": {
      const c = k.value;
      const weight = Math.max(1, countNodes(c.loopCondition) + countNodes(c.loopStep));
      [c.iterRange, c.accuInit, c.loopCondition, c.loopStep, c.result].forEach(instrument);
      // Iterating first copies the range (charged by its size), then runs the body once per element.
      if (c.iterRange) c.iterRange = call(CHARGE_FN, [c.iterRange]);
      if (c.loopCondition) {
        c.loopCondition = call("_&&_", [call(STEP_FN, [intConst(weight)]), c.loopCondition]);
      }
      return;
    }
    case "callExpr": {
      const v = k.value;
      instrument(v.target);
      v.args.forEach(instrument);
      const which = SIZED_OPERANDS[v.function];
      if (!which) return;
      if (v.target) v.target = call(CHARGE_FN, [v.target]);
      v.args = v.args.map((a, i) => (which === "all" || i === v.args.length - 1 ? call(CHARGE_FN, [a]) : a));
      return;
    }
    default:
      return;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Source checks and parse errors

const utf8 = new TextEncoder();

/** Deepest bracket nesting outside string literals and comments. */
function nesting(source: string): number {
  let depth = 0;
  let max = 0;
  let i = 0;
  while (i < source.length) {
    const c = source[i] ?? "";
    if (c === "/" && source[i + 1] === "/") {
      const end = source.indexOf("\n", i);
      i = end === -1 ? source.length : end;
      continue;
    }
    if (c === '"' || c === "'") {
      const raw = /[rR]/.test(source[i - 1] ?? "") && !/[\w]/.test(source[i - 2] ?? "");
      const quote = source.startsWith(c.repeat(3), i) ? c.repeat(3) : c;
      i += quote.length;
      while (i < source.length && !source.startsWith(quote, i)) i += !raw && source[i] === "\\" ? 2 : 1;
      i += quote.length;
      continue;
    }
    if (c === "(" || c === "[" || c === "{") max = Math.max(max, ++depth);
    else if (c === ")" || c === "]" || c === "}") depth = Math.max(0, depth - 1);
    i++;
  }
  return max;
}

interface SyntaxErrorShape {
  location: { start: { line: number; column: number } };
  found: string | null;
  expected: Array<{ type?: string; value?: string }> | null;
}

function isSyntaxError(e: unknown): e is SyntaxErrorShape {
  return typeof e === "object" && e !== null && "location" in e && "found" in e;
}

function syntaxError(e: unknown): ConditionError {
  if (isSyntaxError(e)) {
    const expected = [
      ...new Set(
        (e.expected ?? [])
          .filter((x) => x.value !== undefined && x.value !== "whitespace" && x.value !== "comment")
          .map((x) => (x.type === "literal" ? `'${x.value}'` : String(x.value))),
      ),
    ];
    const found = e.found ? `'${e.found}'` : "end of input";
    const hint = expected.length > 0 && expected.length <= 4 ? `, expected ${expected.join(" or ")}` : "";
    return new ConditionError(`syntax error: unexpected ${found}${hint}`, e.location.start);
  }
  // The parser recurses per nesting level; the nesting check keeps it far from the stack limit.
  return new ConditionError(`syntax error: ${e instanceof Error ? e.message : String(e)}`);
}

// ---------------------------------------------------------------------------------------------------------
// Evaluation

/** JSON in, CEL input out (numbers are CEL doubles, as in google.protobuf.Value); undefined if not JSON. */
function toCelInput(v: unknown): CelInput | undefined {
  if (v === null || typeof v === "string" || typeof v === "boolean") return v;
  if (typeof v === "number") return Number.isFinite(v) ? v : undefined;
  if (Array.isArray(v)) {
    const out: CelInput[] = [];
    for (const x of v) {
      const c = toCelInput(x);
      if (c === undefined) return undefined;
      out.push(c);
    }
    return out;
  }
  const proto = typeof v === "object" ? Object.getPrototypeOf(v) : undefined;
  if (proto === Object.prototype || proto === null) {
    const entries: Array<[string, CelInput]> = [];
    for (const [key, x] of Object.entries(v as Record<string, unknown>)) {
      const c = toCelInput(x);
      if (c === undefined) return undefined;
      entries.push([key, c]);
    }
    // fromEntries defines own properties, so a claim named "__proto__" stays a claim.
    return Object.fromEntries(entries);
  }
  return undefined;
}

/** Runtime error messages name what failed, never a value (an error may quote one: "cannot convert abc"). */
function describeError(message: string): string {
  if (/^field not found|no such key|unresolved attribute/i.test(message))
    return "reads a claim or key that is absent";
  if (/out of bounds/.test(message)) return "reads past the end of a list";
  const overload = /^found no matching overload for .*$/.exec(message);
  if (overload)
    return `applies an operation to a value of the wrong type (${overload[0].replace("found ", "")})`;
  if (/^type mismatch: expected bool, got \w+$/.test(message)) return message;
  if (/overflow|divide by zero|modulus by zero|out of range/.test(message)) return message;
  if (/time ?zone/i.test(message)) return "uses an invalid time zone";
  if (/budget/.test(message)) return "exceeded its evaluation budget";
  return "could not be evaluated (a value has the wrong type or format)";
}

function typeNameOf(v: CelValue): string {
  if (typeof v === "bigint") return "int";
  if (typeof v === "number") return "double";
  if (v === null) return "null";
  if (isCelList(v)) return "list";
  if (isCelMap(v)) return "map";
  return typeof v;
}

/**
 * Parses, type-checks and bounds a condition. Throws ConditionError with a position and what is wrong.
 */
export function compileCondition(source: string): CompiledCondition {
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
  let parsed: ParsedExpr & { expr: Expr };
  try {
    parsed = parse(source);
  } catch (e) {
    throw syntaxError(e);
  }
  const checker = new Checker(source, parsed);
  const type = checker.check(parsed.expr, 1);
  if (!isPrim(type, "bool") && !isDyn(type)) {
    throw new ConditionError(`a condition must evaluate to bool, but this one is ${show(type)}`);
  }
  instrument(parsed.expr);
  const program = plan(ENV, parsed);

  return {
    source,
    evaluate({ claims, request, now }) {
      const celClaims = toCelInput(claims);
      if (
        celClaims === undefined ||
        Array.isArray(celClaims) ||
        typeof celClaims !== "object" ||
        celClaims === null
      ) {
        return { ok: false, error: "claims are not a JSON object" };
      }
      const ms = now.getTime();
      if (!Number.isFinite(ms)) return { ok: false, error: "now is not a valid time" };
      const celRequest: Record<string, CelInput> = {
        audience: request.audience,
        scopes: [...(request.scopes ?? [])],
      };
      if (request.sourceIp) celRequest.sourceIp = request.sourceIp;
      meter = { left: CONDITION_LIMITS.budget, exceeded: false };
      let result: ReturnType<typeof program>;
      try {
        result = program({
          claims: celClaims as Record<string, CelInput>,
          request: celRequest,
          now: timestampFromMs(ms),
        });
      } catch {
        return { ok: false, error: "could not be evaluated" };
      }
      if (meter.exceeded)
        return { ok: false, error: `exceeded its evaluation budget of ${CONDITION_LIMITS.budget} units` };
      if (isCelError(result)) return { ok: false, error: describeError(result.message) };
      if (typeof result !== "boolean")
        return { ok: false, error: `evaluated to ${typeNameOf(result)}, not bool` };
      return result ? { ok: true } : { ok: false };
    },
  };
}
