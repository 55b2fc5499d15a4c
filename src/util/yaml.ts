import { CORE_SCHEMA, defineScalarTag, intCoreTag, loadAll, NOT_RESOLVED, YAMLException } from "js-yaml";
import { formatPath } from "./format-path.ts";

/**
 * YAML for config, policies and fixtures: YAML 1.2 core schema (no timestamps or custom tags), duplicate keys are
 * errors, and aliases are refused (a policy has no need for them, and they are how a small file expands into an
 * enormous one). js-yaml is about five times faster than a full-AST parser on 10,000-policy sets.
 */
export class YamlError extends Error {
  override name = "YamlError";
  /** 1-based line of the problem, when known. */
  readonly line: number | undefined;
  /** Path inside the document (`spec.match.project_number`), when known. */
  readonly path: string | undefined;
  /** 0-based index of the document in a multi-document source, when known. */
  readonly document: number | undefined;
  constructor(message: string, line: number | undefined, path?: string, document?: number) {
    super(message);
    this.line = line;
    this.path = path;
    this.document = document;
  }
}

/** The source uses an alias (`*name`): refused, since an alias is how a small file expands into an enormous one. */
export class YamlAliasError extends YamlError {}

/** An integer literal that a JavaScript number cannot hold exactly (9007199254740993 would read as …992). */
class UnsafeInteger {
  readonly source: string;
  constructor(source: string) {
    this.source = source;
  }
}

/**
 * `!!int` as the core schema reads it, except that an integer beyond ±(2^53−1) is kept as its source text and
 * refused after parsing (CONTRACT §5): silently rounding it would make a policy compare with another number.
 */
const exactIntTag = defineScalarTag<number | UnsafeInteger>("tag:yaml.org,2002:int", {
  implicit: true,
  implicitFirstChars: intCoreTag.implicitFirstChars,
  resolve: (source, isExplicit, tagName) => {
    const value = intCoreTag.resolve(source, isExplicit, tagName);
    if (value === NOT_RESOLVED || typeof value !== "number") return value;
    return Number.isSafeInteger(value) ? value : new UnsafeInteger(source);
  },
  identify: intCoreTag.identify,
  represent: (v) => (v instanceof UnsafeInteger ? v.source : intCoreTag.represent(v)),
});

const SCHEMA = CORE_SCHEMA.withTags(exactIntTag);

function findUnsafeInteger(
  value: unknown,
  path: PropertyKey[],
): { path: string; source: string } | undefined {
  if (value instanceof UnsafeInteger) return { path: formatPath(path), source: value.source };
  if (typeof value !== "object" || value === null) return undefined;
  for (const [k, v] of Object.entries(value)) {
    const found = findUnsafeInteger(v, [...path, Array.isArray(value) ? Number(k) : k]);
    if (found) return found;
  }
  return undefined;
}

/** The documents of one piece of a source; lines and document indexes count from the piece's place in it. */
function loadChunk(text: string, firstLine: number, firstDocument: number): unknown[] {
  let docs: unknown[];
  try {
    docs = loadAll(text, { maxAliases: 0, schema: SCHEMA });
  } catch (e) {
    if (e instanceof YAMLException) {
      const line = e.mark ? e.mark.line + 1 + firstLine : undefined;
      // js-yaml's own wording ("aliases exceeded maxAliases (0)") reads like a limit that could be raised.
      if (e.reason.startsWith("aliases exceeded"))
        throw new YamlAliasError("YAML aliases are not allowed", line);
      throw new YamlError(e.reason, line);
    }
    throw e;
  }
  for (const [index, doc] of docs.entries()) {
    const unsafe = findUnsafeInteger(doc, []);
    if (unsafe) {
      throw new YamlError(
        `integer ${unsafe.source} is outside ±(2^53−1) and cannot be compared exactly; quote the value ("${unsafe.source}") to match it as a string`,
        undefined,
        unsafe.path || "(document)",
        firstDocument + index,
      );
    }
  }
  return docs;
}

/**
 * A line that starts a document: `---` at column 0, then white space or the end (YAML 1.2.2 §9.1.2 document markers).
 * Such a line is never content (production c-forbidden), so cutting the source there yields the same documents.
 */
const DOCUMENT_START = /^---(?=[ \t\r\n]|$)/gm;

/**
 * The documents of a multi-document source one at a time (empty documents come back as null): a 10,000-policy file
 * is never held as 10,000 parsed trees (js-yaml builds every event of its input before the first document). A
 * source with directives (`%YAML`) is parsed whole, since they belong to the document after them.
 */
export function* yamlDocuments(text: string): Generator<unknown> {
  if (/^%/m.test(text)) {
    yield* loadChunk(text, 0, 0);
    return;
  }
  let start = 0;
  let line = 0;
  let documents = 0;
  const next = (end: number) => {
    const chunk = text.slice(start, end);
    const first = line;
    line += countLines(chunk);
    start = end;
    const docs = loadChunk(chunk, first, documents);
    documents += docs.length;
    return docs;
  };
  for (const m of text.matchAll(DOCUMENT_START)) {
    if (m.index === 0) continue;
    yield* next(m.index);
  }
  yield* next(text.length);
}

const countLines = (s: string) => {
  let n = 0;
  for (let i = s.indexOf("\n"); i !== -1; i = s.indexOf("\n", i + 1)) n++;
  return n;
};

/** Every document of a multi-document source (empty documents come back as null). */
export function parseYamlDocuments(text: string): unknown[] {
  return [...yamlDocuments(text)];
}

/** A single-document source. */
export function parseYaml(text: string): unknown {
  const docs = parseYamlDocuments(text);
  if (docs.length > 1) throw new YamlError("expected one YAML document", undefined);
  return docs[0] ?? null;
}
