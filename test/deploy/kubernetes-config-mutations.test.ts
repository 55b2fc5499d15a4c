/**
 * The broker's configuration: REDIS_URL, volumes and mounts, wif-broker.yaml and the shipped policies.
 * One mutation at a time of the real deploy/kubernetes set; each must make kubernetesProblems report it.
 */
import assert from "node:assert/strict";
import { describe } from "node:test";
import { brokerContainer, brokerPod, setConfigMapKey } from "./helpers/kubernetes/edit.ts";
import { type K8sSet, loadK8sSet, nameOf } from "./helpers/kubernetes/manifests.ts";
import { kubernetesProblems } from "./helpers/kubernetes/problems.ts";
import { itReportsEach, type Mutation } from "./helpers/mutations.ts";
import { objs } from "./helpers/yaml-access.ts";
import { objAt, put } from "./helpers/yaml-edit.ts";

const configMutations: Array<Mutation<K8sSet>> = [
  [
    "REDIS_URL literal",
    (s) => {
      const env = objAt(brokerContainer(s), "env", 1);
      assert.equal(env.name, "REDIS_URL");
      delete env.valueFrom;
      env.value = "redis://wif-broker-redis:6379";
    },
    /REDIS_URL must come from a secretKeyRef/,
  ],
  [
    "missing ConfigMap",
    (s) => put(objAt(brokerPod(s), "volumes", 1, "configMap"), "name", "gone"),
    /ConfigMap gone does not exist/,
  ],
  [
    "missing Secret",
    (s) => {
      s.manifests = s.manifests.filter((m) => nameOf(m) !== "wif-broker-signing-keys");
    },
    /Secret wif-broker-signing-keys does not exist/,
  ],
  [
    "subPath mount",
    (s) => put(objAt(brokerContainer(s), "volumeMounts", 1), "subPath", "example-github-deploy.yaml"),
    /uses subPath/,
  ],
  [
    "--config elsewhere",
    (s) => {
      brokerContainer(s).args = ["serve", "--config", "/etc/wif-broker/wif-broker.yaml"];
      brokerContainer(s).env = objs(brokerContainer(s).env).filter((e) => e.name !== "WIF_BROKER_CONFIG");
    },
    /--config \/etc\/wif-broker\/wif-broker\.yaml is not a key of a mounted ConfigMap/,
  ],
  [
    "--config and WIF_BROKER_CONFIG disagree",
    (s) => {
      brokerContainer(s).args = ["serve", "--config", "/etc/wif-broker/config/other.yaml"];
    },
    /--config \/etc\/wif-broker\/config\/other\.yaml and WIF_BROKER_CONFIG .* disagree/,
  ],
  [
    "broken config",
    (s) => setConfigMapKey(s, "wif-broker-config", "wif-broker.yaml", (t) => `${t}\nunknownKey: 1\n`),
    /ConfigMap wif-broker-config wif-broker\.yaml: \(root\): Unrecognized key/,
  ],
  [
    "policies path not mounted",
    (s) =>
      setConfigMapKey(s, "wif-broker-config", "wif-broker.yaml", (t) =>
        t.replace("policies: /etc/wif-broker/policies", "policies: ./policies"),
      ),
    /policies path \.\/policies must be a mounted ConfigMap/,
  ],
  [
    "keysDir not the Secret",
    (s) =>
      setConfigMapKey(s, "wif-broker-config", "wif-broker.yaml", (t) =>
        t.replace("keysDir: /etc/wif-broker/keys", "keysDir: /tmp/keys"),
      ),
    /signing\.keysDir \/tmp\/keys must be a mounted Secret/,
  ],
  [
    "policy with unknown provider",
    (s) =>
      setConfigMapKey(s, "wif-broker-policies", "example-github-deploy.yaml", (t) =>
        t.replace("provider: github", "provider: gitlab"),
      ),
    /provider "gitlab" is not a provider in the config/,
  ],
  [
    "invalid policy",
    (s) =>
      setConfigMapKey(s, "wif-broker-policies", "example-github-deploy.yaml", (t) =>
        t.replace("ttl: 15m", "ttl: soon"),
      ),
    /policy .*grant\.ttl/,
  ],
];

describe("kubernetes checks fail on a broken manifest", () => {
  itReportsEach(loadK8sSet(), configMutations, kubernetesProblems);
});
