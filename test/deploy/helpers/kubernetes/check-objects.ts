import type { Fail } from "../fail-into.ts";
import { imageProblem } from "../images.ts";
import { at, objs, str, strings } from "../yaml-access.ts";
import { type K8sSet, kindOf, nameOf, ofKind, where } from "./manifests.ts";
import type { Workload } from "./workloads.ts";

/** Identity, namespace, uniqueness; returns the name of the set's one Namespace. */
export function checkNamespaceAndNames(set: K8sSet, fail: Fail): string | undefined {
  const namespaces = ofKind(set, "Namespace");
  if (namespaces.length !== 1) fail(`exactly one Namespace expected, found ${namespaces.length}`);
  const nsName = namespaces[0] ? nameOf(namespaces[0]) : undefined;
  const seen = new Set<string>();
  for (const m of set.manifests) {
    if (nameOf(m) === "?") fail(`${where(m)}: missing metadata.name`);
    const id = `${kindOf(m)}/${nameOf(m)}`;
    if (seen.has(id)) fail(`${where(m)}: duplicate object ${id}`);
    seen.add(id);
    if (kindOf(m) !== "Namespace" && str(at(m.doc, "metadata", "namespace")) !== nsName) {
      fail(`${where(m)}: metadata.namespace must be the Namespace ${nsName ?? "?"}`);
    }
  }
  return nsName;
}

/** Every image pinned. */
export function checkImagesPinned(all: readonly Workload[], fail: Fail): void {
  for (const w of all) {
    for (const c of [...w.containers, ...objs(w.podSpec.initContainers)]) {
      const image = str(c.image);
      if (image === undefined) fail(`${where(w.m)}: container ${str(c.name) ?? "?"} has no image`);
      else {
        const p = imageProblem(image);
        if (p) fail(`${where(w.m)}: ${p} (needs an explicit version tag)`);
      }
    }
  }
}

/** Kustomization: lists exactly the applicable files; the image is pinned there too. */
export function checkKustomization(set: K8sSet, nsName: string | undefined, fail: Fail): void {
  const resources = strings(set.kustomization.resources);
  const expected = set.files.filter((f) => !/\.example\.ya?ml$/.test(f));
  const missing = expected.filter((f) => !resources.includes(f));
  const extra = resources.filter((r) => !expected.includes(r));
  if (missing.length > 0 || extra.length > 0) {
    fail(`kustomization.yaml resources: missing [${missing.join(", ")}], unexpected [${extra.join(", ")}]`);
  }
  if (set.kustomization.namespace !== nsName) fail(`kustomization.yaml namespace must be ${String(nsName)}`);
  for (const img of objs(set.kustomization.images)) {
    const tag = str(img.newTag);
    if (tag === undefined || imageProblem(`${String(img.newName ?? img.name)}:${tag}`)) {
      fail(`kustomization.yaml images: ${String(img.name)} needs an explicit newTag`);
    }
  }
}
