import { type CelList, celFunc, celList } from "@bufbuild/cel";
import { LIST } from "./runtime-types.ts";

/**
 * Flat concatenation: the std ConcatList nests one level per `map`/`filter` step, which makes reading the result
 * quadratic. The copy is charged through the operands.
 */
export const FLAT_LIST_CONCAT = celFunc("_+_", [LIST, LIST], LIST, (a: CelList, b: CelList) =>
  celList([...a, ...b]),
);
