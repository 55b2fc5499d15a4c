/**
 * deploy/kubernetes/*.yaml, offline:
 * - every object against the Kubernetes OpenAPI schemas compiled into `kubernetes-models` (types, required
 *   fields, enums, formats), plus an unknown-field check driven by the generated models of
 *   `@kubernetes/client-node` (the OpenAPI schemas themselves allow unknown fields, a typo such as
 *   `readinesProbe` would pass them);
 * - wif-broker.yaml and the policies shipped in the ConfigMaps against the product's own config and policy schemas;
 * - then the structural requirements (probes, selectors, references between objects, security settings).
 *
 * Every check (helpers/kubernetes/) is a function that returns a list of problems. The real files must produce
 * none; kubernetes-*-mutations.test.ts change one thing at a time and prove that the matching check reports it.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import { BROKER_IMAGE, K8S_DIR } from "./helpers/deploy-layout.ts";
import { kindOf, loadK8sSet, type Manifest, nameOf } from "./helpers/kubernetes/manifests.ts";
import { kubernetesProblems } from "./helpers/kubernetes/problems.ts";
import { schemaProblems } from "./helpers/kubernetes/schemas.ts";
import { at, labelsOf, loadYamlDocs, objs, strings } from "./helpers/yaml-access.ts";

describe("deploy/kubernetes", () => {
  const set = loadK8sSet();

  it("contains the required kinds", () => {
    const kinds = new Set(set.manifests.map(kindOf));
    for (const k of [
      "Namespace",
      "ServiceAccount",
      "ConfigMap",
      "Secret",
      "Deployment",
      "Service",
      "PodDisruptionBudget",
      "HorizontalPodAutoscaler",
      "NetworkPolicy",
    ]) {
      assert.ok(kinds.has(k), `no ${k} in deploy/kubernetes`);
    }
  });

  it("every object validates against the Kubernetes schemas and has no unknown field", () => {
    assert.ok(set.manifests.length >= 10);
    assert.deepEqual(schemaProblems(set.manifests), []);
  });

  it("meets the structural requirements", () => {
    assert.deepEqual(kubernetesProblems(set), []);
  });

  it("the signing-key Secret is only an example with a placeholder, never applied by kustomize", () => {
    const keys = set.manifests.filter(
      (m) => kindOf(m) === "Secret" && nameOf(m) === "wif-broker-signing-keys",
    );
    assert.equal(keys.length, 1);
    const example = keys[0] as Manifest;
    assert.match(example.file, /\.example\.yaml$/);
    assert.ok(!strings(set.kustomization.resources).includes(example.file));
    const values = Object.values(labelsOf(example.doc.stringData));
    assert.ok(
      values.length > 0 && values.every((v) => v.includes("PLACEHOLDER") && !v.includes("PRIVATE KEY")),
    );
  });

  const kubectl = spawnSync("kubectl", ["version", "--client"], { encoding: "utf8" });
  it("kubectl kustomize renders the set (when kubectl is installed)", {
    skip: kubectl.status === 0 ? false : "kubectl not installed",
  }, () => {
    const out = spawnSync("kubectl", ["kustomize", K8S_DIR], { encoding: "utf8" });
    assert.equal(out.status, 0, out.stderr);
    const rendered = loadYamlDocs("kustomize output", out.stdout).map((doc) => ({ file: "kustomize", doc }));
    const applied = set.manifests.filter((m) => strings(set.kustomization.resources).includes(m.file));
    assert.equal(rendered.length, applied.length);
    assert.deepEqual(schemaProblems(rendered), []);
    const image = objs(set.kustomization.images).find((i) => i.name === BROKER_IMAGE);
    const deployment = rendered.find((m) => kindOf(m) === "Deployment" && nameOf(m) === "wif-broker");
    const images = objs(at(deployment?.doc, "spec", "template", "spec", "containers")).map((c) => c.image);
    assert.deepEqual(images, [`${String(image?.newName)}:${String(image?.newTag)}`]);
  });
});
