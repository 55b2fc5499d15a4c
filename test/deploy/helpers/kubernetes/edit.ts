import type { Obj } from "../yaml-access.ts";
import { objAt } from "../yaml-edit.ts";
import { byName, type K8sSet } from "./manifests.ts";

/** Edits for the Kubernetes mutation tables. */

export function doc(set: K8sSet, kind: string, name: string): Obj {
  const m = byName(set, kind, name);
  if (!m) throw new Error(`no ${kind}/${name}`);
  return m.doc;
}
export const brokerPod = (s: K8sSet): Obj =>
  objAt(doc(s, "Deployment", "wif-broker"), "spec", "template", "spec");
export const brokerContainer = (s: K8sSet): Obj => objAt(brokerPod(s), "containers", 0);
export function setConfigMapKey(s: K8sSet, name: string, key: string, edit: (text: string) => string): void {
  const data = objAt(doc(s, "ConfigMap", name), "data");
  data[key] = edit(String(data[key]));
}
