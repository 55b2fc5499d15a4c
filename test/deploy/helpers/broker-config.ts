import { parse as parseYaml } from "yaml";
import { configSchema } from "../../../src/config/schema.ts";
import { policySchema } from "../../../src/policy/schema.ts";
import { loadYamlDocs, type Obj } from "./yaml-access.ts";

/** What the deployment checks need from a shipped wif-broker.yaml. */
export interface ParsedConfig {
  policies: string;
  keysDir: string | undefined;
  providers: Set<string>;
}

/** wif-broker.yaml against the product's config schema; its issues go to `problems`. */
export function parseBrokerConfig(label: string, text: string, problems: string[]): ParsedConfig | undefined {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (e) {
    problems.push(`${label}: ${e instanceof Error ? e.message : String(e)}`);
    return undefined;
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      problems.push(`${label}: ${issue.path.join(".") || "(root)"}: ${issue.message}`);
    }
    return undefined;
  }
  return {
    policies: parsed.data.policies,
    keysDir: parsed.data.signing.keysDir,
    providers: new Set(parsed.data.providers.map((p) => p.name)),
  };
}

/** A shipped policy file against the policy schema and the config's providers; returns the policy names. */
export function parsePolicies(
  file: string,
  text: string,
  providers: ReadonlySet<string>,
  problems: string[],
): string[] {
  const names: string[] = [];
  let docs: Obj[];
  try {
    docs = loadYamlDocs(file, text);
  } catch (e) {
    problems.push(`policy ${file}: ${e instanceof Error ? e.message : String(e)}`);
    return names;
  }
  for (const doc of docs) {
    const parsed = policySchema.safeParse(doc);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        problems.push(`policy ${file}: ${issue.path.join(".") || "(root)"}: ${issue.message}`);
      }
      continue;
    }
    names.push(parsed.data.metadata.name);
    const refs =
      typeof parsed.data.spec.provider === "string" ? [parsed.data.spec.provider] : parsed.data.spec.provider;
    for (const p of refs) {
      if (!providers.has(p)) problems.push(`policy ${file}: provider "${p}" is not a provider in the config`);
    }
  }
  return names;
}
