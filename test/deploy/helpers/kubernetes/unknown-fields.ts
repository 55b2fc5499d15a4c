import * as k8sClient from "@kubernetes/client-node";
import { isObj, list, objs, str } from "../yaml-access.ts";

/**
 * The OpenAPI schemas allow unknown fields, so a typo such as `readinesProbe` would pass them; the generated
 * models of @kubernetes/client-node know every field.
 */

const clientModels: ReadonlyMap<string, unknown> = new Map<string, unknown>(Object.entries(k8sClient));
const PRIMITIVE_TYPES = new Set(["string", "number", "boolean", "Date", "any", "object", "IntOrString"]);
const attributeCache = new Map<string, ReadonlyMap<string, string>>();

/** baseName → type of the generated model class `name`, or undefined when there is no such model. */
function attributesOf(name: string): ReadonlyMap<string, string> | undefined {
  const cached = attributeCache.get(name);
  if (cached) return cached;
  const model = clientModels.get(name);
  if (typeof model !== "function") return undefined;
  const getter: unknown = Reflect.get(model, "getAttributeTypeMap");
  if (typeof getter !== "function") return undefined;
  const attrs: unknown = Reflect.apply(getter, model, []);
  const map = new Map<string, string>();
  for (const a of objs(attrs)) {
    const base = str(a.baseName);
    const type = str(a.type);
    if (base !== undefined && type !== undefined) map.set(base, type);
  }
  attributeCache.set(name, map);
  return map;
}

/** Appends to `out` the path of every field of `value` that the model `type` does not have. */
export function unknownFields(value: unknown, type: string, path: string, out: string[]): void {
  if (value === null || value === undefined) return;
  const array = /^Array<(.+)>$/.exec(type);
  if (array?.[1]) {
    const inner = array[1];
    list(value).forEach((v, i) => {
      unknownFields(v, inner, `${path}[${i}]`, out);
    });
    return;
  }
  const dict = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (dict?.[1]) {
    const inner = dict[1];
    if (isObj(value))
      for (const [k, v] of Object.entries(value)) unknownFields(v, inner, `${path}.${k}`, out);
    return;
  }
  if (PRIMITIVE_TYPES.has(type)) return;
  const attrs = attributesOf(type);
  if (!attrs) {
    out.push(`${path}: no model ${type} in @kubernetes/client-node`);
    return;
  }
  if (!isObj(value)) return; // a type mismatch is the schema's to report
  for (const [k, v] of Object.entries(value)) {
    const t = attrs.get(k);
    if (t === undefined) out.push(`${path}.${k}`);
    else unknownFields(v, t, `${path}.${k}`, out);
  }
}

/** `apps/v1` + `Deployment` → `V1Deployment`, `autoscaling/v2` → `V2…`. */
export function clientModelName(apiVersion: string, kind: string): string {
  const version = apiVersion.split("/").pop() ?? "";
  return `${version.charAt(0).toUpperCase()}${version.slice(1)}${kind}`;
}
