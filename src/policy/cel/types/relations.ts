import { type CelT, DYN, isDyn, isNumeric, list, map, STRING } from "./cel-type.ts";

/** Can a value of type `from` be passed where `to` is declared? `dyn` on either side defers to run time. */
export function assignable(to: CelT, from: CelT): boolean {
  if (isDyn(to) || isDyn(from)) return true;
  if (to.kind === "list" && from.kind === "list") return assignable(to.elem, from.elem);
  if (to.kind === "map" && from.kind === "map")
    return assignable(to.key, from.key) && assignable(to.value, from.value);
  if (to.kind === "map" && from.kind === "request") return assignable(to.key, STRING);
  if (to.kind === "prim" && from.kind === "prim") return to.name === from.name;
  return to.kind === from.kind;
}

/** May `==` compare the two? Numbers compare across int, uint and double (CEL heterogeneous equality). */
export function comparable(a: CelT, b: CelT): boolean {
  if (isNumeric(a) && isNumeric(b)) return true;
  if (a.kind === "list" && b.kind === "list") return comparable(a.elem, b.elem);
  if (a.kind === "map" && b.kind === "map") return comparable(a.key, b.key) && comparable(a.value, b.value);
  return assignable(a, b);
}

/** The type of a value that is either `a` or `b` (list literals, map literals); dyn when they differ. */
export function join(a: CelT, b: CelT): CelT {
  if (a.kind === "list" && b.kind === "list") return list(join(a.elem, b.elem));
  if (a.kind === "map" && b.kind === "map") return map(join(a.key, b.key), join(a.value, b.value));
  if (a.kind === "prim" && b.kind === "prim" && a.name === b.name) return a;
  if (a.kind === "request" && b.kind === "request") return a;
  return DYN;
}
