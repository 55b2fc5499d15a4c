/**
 * The broker Deployment's pod: replicas, probes, security context, resources, shutdown, identity, images.
 * One mutation at a time of the real deploy/kubernetes set; each must make kubernetesProblems report it.
 */
import { describe } from "node:test";
import { brokerContainer, brokerPod, doc } from "./helpers/kubernetes/edit.ts";
import { type K8sSet, loadK8sSet } from "./helpers/kubernetes/manifests.ts";
import { kubernetesProblems } from "./helpers/kubernetes/problems.ts";
import { itReportsEach, type Mutation } from "./helpers/mutations.ts";
import { drop, objAt, put } from "./helpers/yaml-edit.ts";

const podMutations: Array<Mutation<K8sSet>> = [
  [
    "replicas 1",
    (s) => put(objAt(doc(s, "Deployment", "wif-broker"), "spec"), "replicas", 1),
    /replicas must be ≥ 2/,
  ],
  [
    "readiness path",
    (s) => put(objAt(brokerContainer(s), "readinessProbe", "httpGet"), "path", "/healthz"),
    /readinessProbe path must be \/readyz/,
  ],
  [
    "liveness port",
    (s) => put(objAt(brokerContainer(s), "livenessProbe", "httpGet"), "port", 9090),
    /livenessProbe port must be 8080/,
  ],
  [
    "no startupProbe",
    (s) => drop(brokerContainer(s), "startupProbe"),
    /startupProbe must be an httpGet probe/,
  ],
  [
    "container port",
    (s) => put(objAt(brokerContainer(s), "ports", 0), "containerPort", 8081),
    /no container port 8080/,
  ],
  [
    "runAsNonRoot",
    (s) => {
      objAt(brokerPod(s), "securityContext").runAsNonRoot = false;
      delete objAt(brokerContainer(s), "securityContext").runAsNonRoot;
    },
    /runAsNonRoot must be true/,
  ],
  [
    "runAsUser 0",
    (s) => put(objAt(brokerContainer(s), "securityContext"), "runAsUser", 0),
    /runAsUser must not be 0/,
  ],
  [
    "writable root fs",
    (s) => put(objAt(brokerContainer(s), "securityContext"), "readOnlyRootFilesystem", false),
    /readOnlyRootFilesystem/,
  ],
  [
    "privilege escalation",
    (s) => drop(objAt(brokerContainer(s), "securityContext"), "allowPrivilegeEscalation"),
    /allowPrivilegeEscalation/,
  ],
  [
    "capabilities kept",
    (s) => put(objAt(brokerContainer(s), "securityContext", "capabilities"), "drop", ["NET_RAW"]),
    /drop ALL/,
  ],
  [
    "seccomp",
    (s) => {
      delete objAt(brokerPod(s), "securityContext").seccompProfile;
      delete objAt(brokerContainer(s), "securityContext").seccompProfile;
    },
    /seccompProfile must be RuntimeDefault/,
  ],
  [
    "no cpu request",
    (s) => drop(objAt(brokerContainer(s), "resources", "requests"), "cpu"),
    /resources\.requests\.cpu/,
  ],
  ["no preStop", (s) => drop(brokerContainer(s), "lifecycle"), /preStop must sleep/],
  [
    "short grace period",
    (s) => put(brokerPod(s), "terminationGracePeriodSeconds", 30),
    /terminationGracePeriodSeconds/,
  ],
  [
    "no topology spread",
    (s) => drop(brokerPod(s), "topologySpreadConstraints"),
    /topologySpreadConstraints must spread/,
  ],
  [
    "spread selects nothing",
    (s) => {
      objAt(brokerPod(s), "topologySpreadConstraints", 0, "labelSelector").matchLabels = { app: "other" };
    },
    /labelSelector must select the broker pods/,
  ],
  [
    "token mounted",
    (s) => put(brokerPod(s), "automountServiceAccountToken", true),
    /automountServiceAccountToken must be false/,
  ],
  [
    "SA token mounted",
    (s) => put(doc(s, "ServiceAccount", "wif-broker"), "automountServiceAccountToken", true),
    /ServiceAccount automountServiceAccountToken/,
  ],
  [
    "missing ServiceAccount",
    (s) => put(brokerPod(s), "serviceAccountName", "nobody"),
    /serviceAccountName nobody does not exist/,
  ],
  ["service links", (s) => drop(brokerPod(s), "enableServiceLinks"), /enableServiceLinks must be false/],
  ["image latest", (s) => put(brokerContainer(s), "image", "wif-broker:latest"), /moving tag/],
  [
    "image untagged",
    (s) =>
      put(
        objAt(doc(s, "Deployment", "wif-broker-redis"), "spec", "template", "spec", "containers", 0),
        "image",
        "redis",
      ),
    /redis has no tag/,
  ],
];

describe("kubernetes checks fail on a broken manifest", () => {
  itReportsEach(loadK8sSet(), podMutations, kubernetesProblems);
});
