import { writeFileSync } from "node:fs";
import { registerHooks } from "node:module";

/**
 * `node --import` this file: every module the process resolves (import and require alike) is recorded, and the
 * list is written as JSON to $WIF_TEST_MODULE_GRAPH when the process exits.
 */
const out = process.env.WIF_TEST_MODULE_GRAPH;
const resolved = new Set<string>();
registerHooks({
  resolve(specifier, context, nextResolve) {
    const result = nextResolve(specifier, context);
    resolved.add(result.url);
    return result;
  },
});
process.on("exit", () => {
  if (out) writeFileSync(out, JSON.stringify([...resolved]));
});
