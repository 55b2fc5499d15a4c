/**
 * The shipped deployment artefacts, offline (no Docker engine, cluster or network): each must produce no problem.
 * broken-variants.test.ts shows that each rule fires on a plausible mistake.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { DEPLOY, loadArtefacts } from "./helpers/artefacts.ts";
import { composeProblems } from "./helpers/compose-rules.ts";
import { dockerfileProblems } from "./helpers/dockerfile-rules.ts";
import { kubernetesProblems } from "./helpers/kubernetes-rules.ts";
import { dclintProblems } from "./helpers/validators.ts";

describe("the shipped deployment artefacts", () => {
  const a = loadArtefacts();

  it("Dockerfile and .dockerignore: dockerfile-utils' lint, a pinned Node 24 base, a lean non-root runtime", () => {
    assert.deepEqual(dockerfileProblems(a.dockerfile, a.dockerignore), []);
  });

  it("deploy/kubernetes: the Kubernetes schemas, no unknown field, the broker's own config and policy loader", () => {
    assert.ok(a.kubernetes.length >= 10, "deploy/kubernetes was not read");
    assert.deepEqual(kubernetesProblems(a), []);
  });

  it("deploy/compose.yaml: the Compose Specification, dclint, the broker's own config and policy loader", () => {
    assert.deepEqual(composeProblems(a.compose), []);
    assert.deepEqual(dclintProblems(join(DEPLOY, "compose.yaml")), []);
  });
});
