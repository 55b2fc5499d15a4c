import { failInto } from "../fail-into.ts";
import { findBroker } from "./broker-under-check.ts";
import { checkAvailability } from "./check-availability.ts";
import { checkBrokerConfig } from "./check-broker-config.ts";
import {
  checkReplicasAndProbes,
  checkSecurityAndResources,
  checkShutdownAndPodIdentity,
} from "./check-broker-pod.ts";
import { checkNetworkPolicies } from "./check-network-policies.ts";
import { checkImagesPinned, checkKustomization, checkNamespaceAndNames } from "./check-objects.ts";
import { checkRedis } from "./check-redis.ts";
import type { K8sSet } from "./manifests.ts";
import { schemaProblems } from "./schemas.ts";
import { workloads } from "./workloads.ts";

/** Every problem of a Kubernetes set: schemas, then the structural requirements; none for the real files. */
export function kubernetesProblems(set: K8sSet): string[] {
  const problems: string[] = [];
  const fail = failInto(problems);
  problems.push(...schemaProblems(set.manifests));
  const nsName = checkNamespaceAndNames(set, fail);
  const all = workloads(set);
  checkImagesPinned(all, fail);
  const broker = findBroker(set, all, fail);
  if (!broker) return problems;
  checkReplicasAndProbes(broker, fail);
  checkSecurityAndResources(broker, fail);
  checkShutdownAndPodIdentity(broker, fail);
  checkBrokerConfig(broker, problems, fail);
  checkAvailability(broker, fail);
  checkRedis(broker, fail);
  checkNetworkPolicies(broker, fail);
  checkKustomization(set, nsName, fail);
  return problems;
}
