import { BROKER_DRAIN_SECONDS, BROKER_PORT } from "../deploy-layout.ts";
import type { Fail } from "../fail-into.ts";
import { at, isObj, num, objs, selects, str, strings } from "../yaml-access.ts";
import type { BrokerUnderCheck } from "./broker-under-check.ts";
import { byName, where } from "./manifests.ts";
import { resolvePort } from "./workloads.ts";

/** Replicas, selector, the container port and the three probes. */
export function checkReplicasAndProbes(b: BrokerUnderCheck, fail: Fail): void {
  const { bw, container } = b;
  if (b.replicas === undefined || b.replicas < 2)
    fail(`${bw}: spec.replicas must be ≥ 2 (is ${String(b.replicas)})`);
  if (!selects(at(b.broker.m.doc, "spec", "selector", "matchLabels"), b.podLabels)) {
    fail(`${bw}: spec.selector.matchLabels must select the pod template's labels`);
  }
  if (!objs(container.ports).some((p) => p.containerPort === BROKER_PORT)) {
    fail(`${bw}: no container port ${BROKER_PORT}`);
  }
  const probes: Array<[string, string]> = [
    ["readinessProbe", "/readyz"],
    ["livenessProbe", "/healthz"],
    ["startupProbe", "/healthz"],
  ];
  for (const [probe, path] of probes) {
    const httpGet = at(container, probe, "httpGet");
    if (!isObj(httpGet)) {
      fail(`${bw}: ${probe} must be an httpGet probe`);
      continue;
    }
    if (httpGet.path !== path) fail(`${bw}: ${probe} path must be ${path} (is ${String(httpGet.path)})`);
    const port = resolvePort(httpGet.port, container);
    if (port !== BROKER_PORT) fail(`${bw}: ${probe} port must be ${BROKER_PORT} (is ${String(port)})`);
  }
}

/** Security context (pod-level defaults, container-level overrides) and resources. */
export function checkSecurityAndResources(b: BrokerUnderCheck, fail: Fail): void {
  const { bw, container, pod } = b;
  const podSc = isObj(pod.securityContext) ? pod.securityContext : {};
  const cSc = isObj(container.securityContext) ? container.securityContext : {};
  const effective = (key: string): unknown => (cSc[key] !== undefined ? cSc[key] : podSc[key]);
  if (effective("runAsNonRoot") !== true) fail(`${bw}: runAsNonRoot must be true`);
  if (effective("runAsUser") === 0) fail(`${bw}: runAsUser must not be 0`);
  if (at(effective("seccompProfile"), "type") !== "RuntimeDefault")
    fail(`${bw}: seccompProfile must be RuntimeDefault`);
  if (cSc.readOnlyRootFilesystem !== true) fail(`${bw}: readOnlyRootFilesystem must be true`);
  if (cSc.allowPrivilegeEscalation !== false) fail(`${bw}: allowPrivilegeEscalation must be false`);
  if (cSc.privileged === true) fail(`${bw}: must not be privileged`);
  if (!strings(at(cSc, "capabilities", "drop")).includes("ALL")) fail(`${bw}: capabilities must drop ALL`);
  if (strings(at(cSc, "capabilities", "add")).length > 0) fail(`${bw}: capabilities must add nothing`);

  // Resources: a CPU request is what the HPA's utilisation is measured against.
  for (const r of ["requests.cpu", "requests.memory", "limits.memory"]) {
    const [group, res] = r.split(".") as [string, string];
    if (at(container, "resources", group, res) === undefined) fail(`${bw}: resources.${r} must be set`);
  }
}

/** Graceful shutdown, spreading, and no Kubernetes credentials or service links in the pod. */
export function checkShutdownAndPodIdentity(b: BrokerUnderCheck, fail: Fail): void {
  const { bw, container, pod } = b;
  // Graceful shutdown: preStop delay + drain time must fit in the grace period.
  const preStop = at(container, "lifecycle", "preStop");
  const sleepSeconds =
    num(at(preStop, "sleep", "seconds")) ??
    (() => {
      const cmd = strings(at(preStop, "exec", "command")).join(" ");
      const m = /\bsleep\s+(\d+)/.exec(cmd);
      return m?.[1] ? Number(m[1]) : undefined;
    })();
  if (sleepSeconds === undefined || sleepSeconds < 1)
    fail(`${bw}: lifecycle.preStop must sleep a few seconds`);
  const grace = num(pod.terminationGracePeriodSeconds);
  if (grace === undefined || grace <= (sleepSeconds ?? 0) + BROKER_DRAIN_SECONDS) {
    fail(
      `${bw}: terminationGracePeriodSeconds must exceed preStop + the broker's ${BROKER_DRAIN_SECONDS} s drain (is ${String(grace)})`,
    );
  }

  const spread = objs(pod.topologySpreadConstraints);
  if (spread.length === 0) fail(`${bw}: topologySpreadConstraints must spread the replicas`);
  for (const t of spread) {
    if (!selects(at(t, "labelSelector", "matchLabels"), b.podLabels)) {
      fail(`${bw}: topologySpreadConstraints labelSelector must select the broker pods`);
    }
  }

  if (pod.automountServiceAccountToken !== false) fail(`${bw}: automountServiceAccountToken must be false`);
  if (pod.enableServiceLinks !== false) fail(`${bw}: enableServiceLinks must be false`);
  const saName = str(pod.serviceAccountName);
  const sa = byName(b.set, "ServiceAccount", saName);
  if (!sa) fail(`${bw}: serviceAccountName ${String(saName)} does not exist in the set`);
  else if (sa.doc.automountServiceAccountToken !== false)
    fail(`${where(sa)}: ServiceAccount automountServiceAccountToken must be false`);
}
