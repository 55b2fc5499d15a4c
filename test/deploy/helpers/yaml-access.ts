import { parseAllDocuments } from "yaml";

/** Small typed accessors over parsed YAML (which is `unknown` until checked). */

export type Obj = Record<string, unknown>;

export function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
export function at(v: unknown, ...path: Array<string | number>): unknown {
  let cur: unknown = v;
  for (const key of path) {
    if (typeof key === "number") cur = Array.isArray(cur) ? cur[key] : undefined;
    else cur = isObj(cur) ? cur[key] : undefined;
  }
  return cur;
}
export function str(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}
export function num(v: unknown): number | undefined {
  return typeof v === "number" ? v : undefined;
}
export function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}
export function objs(v: unknown): Obj[] {
  return list(v).filter(isObj);
}
export function strings(v: unknown): string[] {
  return list(v).filter((x): x is string => typeof x === "string");
}
export function labelsOf(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (isObj(v)) for (const [k, x] of Object.entries(v)) if (typeof x === "string") out[k] = x;
  return out;
}
/** A non-empty matchLabels selector that selects the given pod labels. */
export function selects(selector: unknown, podLabels: Record<string, string>): boolean {
  const match = labelsOf(selector);
  const keys = Object.keys(match);
  return keys.length > 0 && keys.every((k) => podLabels[k] === match[k]);
}
export function clone<T>(v: T): T {
  return structuredClone(v);
}

/** The mappings of a multi-document YAML file (empty documents skipped). */
export function loadYamlDocs(file: string, text: string): Obj[] {
  const docs: Obj[] = [];
  for (const d of parseAllDocuments(text)) {
    if (d.errors.length > 0) throw new Error(`${file}: ${d.errors.map((e) => e.message).join("; ")}`);
    const js: unknown = d.toJS();
    if (js === null || js === undefined) continue;
    if (!isObj(js)) throw new Error(`${file}: a document is not a mapping`);
    docs.push(js);
  }
  return docs;
}
