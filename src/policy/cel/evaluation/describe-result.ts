import { type CelValue, isCelList, isCelMap } from "@bufbuild/cel";

/** Runtime error messages name what failed, never a value (an error may quote one: "cannot convert abc"). */
export function describeError(message: string): string {
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

/** The CEL type name of a non-bool result, for "evaluated to …, not bool". */
export function typeNameOf(v: CelValue): string {
  if (typeof v === "bigint") return "int";
  if (typeof v === "number") return "double";
  if (v === null) return "null";
  if (isCelList(v)) return "list";
  if (isCelMap(v)) return "map";
  return typeof v;
}
