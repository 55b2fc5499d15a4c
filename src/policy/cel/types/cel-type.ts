/** The checker's view of CEL types (cel-spec "Types"): primitives, lists, maps and the `request` record. */

export type Prim =
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

export type CelT =
  | { kind: "prim"; name: Prim }
  | { kind: "list"; elem: CelT }
  | { kind: "map"; key: CelT; value: CelT }
  /** The `request` variable: a map at run time, a record with known fields to the checker. */
  | { kind: "request" };

export const prim = (name: Prim): CelT => ({ kind: "prim", name });
export const DYN = prim("dyn");
export const BOOL = prim("bool");
export const INT = prim("int");
export const STRING = prim("string");
export const TYPE = prim("type");
export const list = (elem: CelT): CelT => ({ kind: "list", elem });
export const map = (key: CelT, value: CelT): CelT => ({ kind: "map", key, value });

/** The type as an error message names it: `list(string)`, `map(string, dyn)`. */
export function show(t: CelT): string {
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

export const isDyn = (t: CelT) => t.kind === "prim" && t.name === "dyn";
export const isPrim = (t: CelT, name: Prim) => t.kind === "prim" && t.name === name;
export const isNumeric = (t: CelT) =>
  t.kind === "prim" && (t.name === "int" || t.name === "uint" || t.name === "double");
