import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { DEPLOY } from "../deploy-layout.ts";
import { isObj, list, type Obj, str, strings } from "../yaml-access.ts";

/** deploy/compose.yaml, as text (for dclint) and parsed with merge keys resolved. */
export function loadCompose(): { text: string; doc: Obj } {
  const text = readFileSync(join(DEPLOY, "compose.yaml"), "utf8");
  const doc: unknown = parseYaml(text, { merge: true });
  if (!isObj(doc)) throw new Error("compose.yaml is not a mapping");
  return { text, doc };
}

export interface Mount {
  source: string;
  target: string;
  bind: boolean;
}

/** A service's volumes, short (`src:dst`) or long syntax. */
export function composeMounts(service: Obj): Mount[] {
  return list(service.volumes).flatMap((v): Mount[] => {
    if (typeof v === "string") {
      const [source = "", target = ""] = v.split(":");
      return [{ source, target, bind: /^[./~]/.test(source) }];
    }
    if (isObj(v))
      return [{ source: str(v.source) ?? "", target: str(v.target) ?? "", bind: v.type === "bind" }];
    return [];
  });
}

/** `command`/`healthcheck.test`, as a string or a list. */
export function commandList(v: unknown): string[] {
  return typeof v === "string" ? v.split(/\s+/).filter(Boolean) : strings(v);
}

/** `environment`, as a list of `K=V` or a mapping. */
export function environmentOf(service: Obj): Record<string, string> {
  const envList = service.environment;
  const env: Record<string, string> = {};
  if (Array.isArray(envList)) {
    for (const e of strings(envList)) {
      const i = e.indexOf("=");
      if (i > 0) env[e.slice(0, i)] = e.slice(i + 1);
    }
  } else if (isObj(envList)) for (const [k, v] of Object.entries(envList)) env[k] = String(v);
  return env;
}

/** `ports` as [published, target] pairs. */
export function publishedPorts(service: Obj): Array<[number, number]> {
  return list(service.ports).flatMap((p): Array<[number, number]> => {
    if (typeof p === "string") {
      const parts = p.split(":");
      return [[Number(parts[parts.length - 2]), Number(parts[parts.length - 1])]];
    }
    if (isObj(p)) return [[Number(p.published), Number(p.target)]];
    return [];
  });
}
