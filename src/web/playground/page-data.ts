import type { DecisionLimits } from "../../policy/evaluate.ts";
import type { PolicyFile } from "../../policy/parse.ts";
import type { ProviderFacts } from "../../policy/platforms.ts";

/**
 * What the server puts into the playground page (a JSON data block, never script): the loaded policy files as
 * text, the provider names of the config and the decision limits, so the page compiles and decides exactly as
 * the broker does. Shared by the route (which writes it) and the browser entry (which reads it).
 */
export interface PlaygroundData {
  issuer: string;
  /** The config's providers (names, issuers, declared claim types): the page compiles as the broker does. */
  providers: readonly ProviderFacts[];
  limits: DecisionLimits;
  files: readonly PolicyFile[];
}

export const DATA_ELEMENT_ID = "playground-data";

/**
 * JSON for an HTML `<script type="application/json">` block: `<`, `>`, `&` and the line separators are escaped, so
 * no policy text can close the block (`</script>`) or start markup.
 */
export function jsonForHtml(value: unknown): string {
  return JSON.stringify(value)
    .replaceAll("<", "\\u003c")
    .replaceAll(">", "\\u003e")
    .replaceAll("&", "\\u0026")
    .replaceAll("\u2028", "\\u2028")
    .replaceAll("\u2029", "\\u2029");
}
