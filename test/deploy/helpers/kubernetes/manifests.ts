import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { K8S_DIR } from "../deploy-layout.ts";
import { at, loadYamlDocs, type Obj, str } from "../yaml-access.ts";

export interface Manifest {
  file: string;
  doc: Obj;
}
export interface K8sSet {
  manifests: Manifest[];
  /** deploy/kubernetes/*.yaml file names (kustomization.yaml excluded). */
  files: string[];
  kustomization: Obj;
}

export function loadK8sSet(): K8sSet {
  const files = readdirSync(K8S_DIR)
    .filter((f) => f.endsWith(".yaml") || f.endsWith(".yml"))
    .sort();
  const manifests: Manifest[] = [];
  let kustomization: Obj = {};
  for (const file of files) {
    const docs = loadYamlDocs(file, readFileSync(join(K8S_DIR, file), "utf8"));
    if (file === "kustomization.yaml") kustomization = docs[0] ?? {};
    else for (const doc of docs) manifests.push({ file, doc });
  }
  return { manifests, files: files.filter((f) => f !== "kustomization.yaml"), kustomization };
}

export function kindOf(m: Manifest): string {
  return str(m.doc.kind) ?? "?";
}
export function nameOf(m: Manifest): string {
  return str(at(m.doc, "metadata", "name")) ?? "?";
}
export function where(m: Manifest): string {
  return `${m.file}: ${kindOf(m)}/${nameOf(m)}`;
}
export function ofKind(set: K8sSet, kind: string): Manifest[] {
  return set.manifests.filter((m) => kindOf(m) === kind);
}
/** The object `kind/name`, if the set has it. */
export function byName(set: K8sSet, kind: string, name: string | undefined): Manifest | undefined {
  return name === undefined ? undefined : set.manifests.find((m) => kindOf(m) === kind && nameOf(m) === name);
}
