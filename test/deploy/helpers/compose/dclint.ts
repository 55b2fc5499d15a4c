import { DCLinter } from "dclint";
import { objs } from "../yaml-access.ts";

const DCLINT_RULES = [
  "no-duplicate-container-names",
  "no-duplicate-exported-ports",
  "no-quotes-in-volumes",
  "no-unbound-port-interfaces",
  "no-version-field",
  "require-project-name-field",
  "service-container-name-regex",
] as const;
const DCLINT_STYLE_RULES = [
  // Style or opinion: off. no-build-and-image: the services deliberately share one locally built image.
  "no-build-and-image",
  "require-quotes-in-ports",
  "service-dependencies-alphabetical-order",
  "service-image-require-explicit-tag", // does not see through YAML merge keys; checked by composeProblems instead
  "service-keys-order",
  "service-ports-alphabetical-order",
  "services-alphabetical-order",
  "top-level-properties-order",
] as const;

/** dclint's semantic rules over a compose file (style rules off). */
export function dclintProblems(file: string): string[] {
  const rules: Record<string, 0 | 2> = {};
  for (const r of DCLINT_STYLE_RULES) rules[r] = 0;
  for (const r of DCLINT_RULES) rules[r] = 2;
  const linter = new DCLinter({ rules, quiet: true, debug: false, exclude: [] });
  // dclint's published types do not resolve under nodenext: treat its result as data.
  const results: unknown = linter.lintFiles([file], false);
  return objs(results)
    .flatMap((r) => objs(r.messages))
    .map((msg) => `dclint ${String(msg.rule)} line ${String(msg.line)}: ${String(msg.message)}`);
}
