/**
 * The objects around the broker: schemas, Service, PDB, HPA, Redis, NetworkPolicies, Namespace, kustomization.
 * One mutation at a time of the real deploy/kubernetes set; each must make kubernetesProblems report it.
 */
import { describe } from "node:test";
import { brokerContainer, doc } from "./helpers/kubernetes/edit.ts";
import { type K8sSet, kindOf, loadK8sSet, nameOf } from "./helpers/kubernetes/manifests.ts";
import { kubernetesProblems } from "./helpers/kubernetes/problems.ts";
import { itReportsEach, type Mutation } from "./helpers/mutations.ts";
import { at, clone, list, objs, strings } from "./helpers/yaml-access.ts";
import { objAt, put } from "./helpers/yaml-edit.ts";

const objectMutations: Array<Mutation<K8sSet>> = [
  [
    "replicas as a string",
    (s) => put(objAt(doc(s, "Deployment", "wif-broker"), "spec"), "replicas", "2"),
    /schema: \/spec\/replicas type/,
  ],
  [
    "typo in a field name",
    (s) => {
      const c = brokerContainer(s);
      c.readinesProbe = c.readinessProbe;
    },
    /unknown field \.spec\.template\.spec\.containers\[0\]\.readinesProbe/,
  ],
  [
    "unsupported kind",
    (s) => {
      s.manifests.push({
        file: "x.yaml",
        doc: {
          apiVersion: "extensions/v1beta1",
          kind: "Ingress",
          metadata: { name: "x", namespace: "wif-broker" },
        },
      });
    },
    /no schema for extensions\/v1beta1\/Ingress/,
  ],
  [
    "Service selector",
    (s) => put(objAt(doc(s, "Service", "wif-broker"), "spec"), "selector", { app: "nope" }),
    /no Service selects the broker pods/,
  ],
  [
    "Service targetPort",
    (s) => put(objAt(doc(s, "Service", "wif-broker"), "spec", "ports", 0), "targetPort", 9090),
    /Service targetPort must reach 8080/,
  ],
  [
    "PDB selector",
    (s) =>
      put(objAt(doc(s, "PodDisruptionBudget", "wif-broker"), "spec", "selector"), "matchLabels", {
        app: "x",
      }),
    /PodDisruptionBudget must select the broker pods/,
  ],
  [
    "PDB minAvailable 0",
    (s) => put(objAt(doc(s, "PodDisruptionBudget", "wif-broker"), "spec"), "minAvailable", 0),
    /minAvailable must be ≥ 1/,
  ],
  [
    "PDB too broad",
    (s) => {
      objAt(doc(s, "PodDisruptionBudget", "wif-broker"), "spec", "selector").matchLabels = {
        "app.kubernetes.io/part-of": "wif-broker",
      };
    },
    /selects pods of other workloads/,
  ],
  [
    "HPA target",
    (s) =>
      put(objAt(doc(s, "HorizontalPodAutoscaler", "wif-broker"), "spec", "scaleTargetRef"), "name", "other"),
    /scaleTargetRef must name/,
  ],
  [
    "HPA minReplicas",
    (s) => put(objAt(doc(s, "HorizontalPodAutoscaler", "wif-broker"), "spec"), "minReplicas", 1),
    /minReplicas must be ≥ 2/,
  ],
  [
    "HPA on memory",
    (s) =>
      put(
        objAt(doc(s, "HorizontalPodAutoscaler", "wif-broker"), "spec", "metrics", 0, "resource"),
        "name",
        "memory",
      ),
    /must scale on cpu/,
  ],
  [
    "no Redis",
    (s) => {
      s.manifests = s.manifests.filter((m) => !(kindOf(m) === "Service" && nameOf(m) === "wif-broker-redis"));
    },
    /Redis Deployment\/StatefulSet and a Service/,
  ],
  [
    "REDIS_URL host",
    (s) => put(objAt(doc(s, "Secret", "wif-broker-redis"), "stringData"), "url", "redis://:x@redis:6379/0"),
    /REDIS_URL host\/port redis:6379/,
  ],
  [
    "NetworkPolicy ingress port",
    (s) => put(objAt(doc(s, "NetworkPolicy", "wif-broker"), "spec", "ingress", 0, "ports", 0), "port", 9090),
    /ingress must be limited to port 8080/,
  ],
  [
    "NetworkPolicy without DNS",
    (s) => {
      const spec = objAt(doc(s, "NetworkPolicy", "wif-broker"), "spec");
      spec.egress = list(spec.egress).filter((r) => !objs(at(r, "ports")).some((p) => p.port === 53));
    },
    /allow DNS/,
  ],
  [
    "NetworkPolicy open egress",
    (s) => {
      list(objAt(doc(s, "NetworkPolicy", "wif-broker"), "spec").egress).push({});
    },
    /egress rule without ports/,
  ],
  [
    "NetworkPolicy no Redis egress",
    (s) => put(objAt(doc(s, "NetworkPolicy", "wif-broker"), "spec", "egress", 0, "ports", 0), "port", 6380),
    /must allow Redis pods on 6379/,
  ],
  [
    "no redis NetworkPolicy",
    (s) => {
      s.manifests = s.manifests.filter(
        (m) => !(kindOf(m) === "NetworkPolicy" && nameOf(m) === "wif-broker-redis"),
      );
    },
    /redis NetworkPolicy must admit ingress from the broker pods only/,
  ],
  [
    "namespace",
    (s) => put(objAt(doc(s, "Service", "wif-broker"), "metadata"), "namespace", "default"),
    /metadata\.namespace must be the Namespace wif-broker/,
  ],
  [
    "no Namespace",
    (s) => {
      s.manifests = s.manifests.filter((m) => kindOf(m) !== "Namespace");
    },
    /exactly one Namespace expected/,
  ],
  [
    "duplicate object",
    (s) => {
      const svc = s.manifests.find((m) => kindOf(m) === "Service");
      if (svc) s.manifests.push(clone(svc));
    },
    /duplicate object Service\//,
  ],
  [
    "kustomization misses a file",
    (s) => {
      s.kustomization.resources = strings(s.kustomization.resources).filter((r) => r !== "pdb.yaml");
    },
    /kustomization\.yaml resources: missing \[pdb\.yaml\]/,
  ],
  [
    "kustomization applies the example",
    (s) => {
      s.kustomization.resources = [...strings(s.kustomization.resources), "secret-signing-keys.example.yaml"];
    },
    /unexpected \[secret-signing-keys\.example\.yaml\]/,
  ],
  [
    "kustomization image tag",
    (s) => put(objAt(s.kustomization, "images", 0), "newTag", "latest"),
    /images: wif-broker needs an explicit newTag/,
  ],
];

describe("kubernetes checks fail on a broken manifest", () => {
  itReportsEach(loadK8sSet(), objectMutations, kubernetesProblems);
});
