import { BOOL, type CelT, DYN, INT, list, map, prim, STRING, TYPE } from "./cel-type.ts";
import { SIGNATURES } from "./signatures.ts";

/** One typed form of a function or method of the standard library. */
export interface Overload {
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

function namedType(name: string): CelT {
  const t = NAMED_TYPES[name.trim()];
  if (!t) throw new TypeError(`cel.ts: unknown type "${name}" in the signature table`);
  return t;
}

/** The overloads of every library function and method, by name, parsed from SIGNATURES. */
export const LIBRARY: ReadonlyMap<string, readonly Overload[]> = (() => {
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
