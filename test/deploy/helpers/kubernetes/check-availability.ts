import { BROKER_PORT } from "../deploy-layout.ts";
import type { Fail } from "../fail-into.ts";
import { at, num, objs, selects } from "../yaml-access.ts";
import type { BrokerUnderCheck } from "./broker-under-check.ts";
import { ofKind, where } from "./manifests.ts";
import { resolvePort } from "./workloads.ts";

/** A Service in front of the broker, a PodDisruptionBudget for it alone, and an HPA scaling it on CPU. */
export function checkAvailability(b: BrokerUnderCheck, fail: Fail): void {
  const { container, podLabels, replicas, deploymentName } = b;
  // Service in front of the broker.
  const brokerSvc = ofKind(b.set, "Service").filter((s) => selects(at(s.doc, "spec", "selector"), podLabels));
  if (brokerSvc.length === 0) fail(`no Service selects the broker pods (${JSON.stringify(podLabels)})`);
  for (const s of brokerSvc) {
    for (const p of objs(at(s.doc, "spec", "ports"))) {
      const target = resolvePort(p.targetPort ?? p.port, container);
      if (target !== BROKER_PORT)
        fail(`${where(s)}: Service targetPort must reach ${BROKER_PORT} (is ${String(target)})`);
    }
  }

  // PodDisruptionBudget.
  const otherPods = b.all.filter((w) => w !== b.broker).map((w) => w.podLabels);
  const pdbs = ofKind(b.set, "PodDisruptionBudget").filter((p) =>
    selects(at(p.doc, "spec", "selector", "matchLabels"), podLabels),
  );
  if (pdbs.length !== 1)
    fail(`exactly one PodDisruptionBudget must select the broker pods, found ${pdbs.length}`);
  for (const pdb of pdbs) {
    const minAvailable = at(pdb.doc, "spec", "minAvailable");
    if (typeof minAvailable !== "number" || minAvailable < 1 || minAvailable >= (replicas ?? 0)) {
      fail(
        `${where(pdb)}: minAvailable must be ≥ 1 and below the replica count (is ${String(minAvailable)})`,
      );
    }
    if (otherPods.some((l) => selects(at(pdb.doc, "spec", "selector", "matchLabels"), l))) {
      fail(`${where(pdb)}: PodDisruptionBudget selector also selects pods of other workloads`);
    }
  }

  // HorizontalPodAutoscaler.
  const hpas = ofKind(b.set, "HorizontalPodAutoscaler");
  if (hpas.length !== 1) fail(`exactly one HorizontalPodAutoscaler expected, found ${hpas.length}`);
  for (const hpa of hpas) {
    const ref = at(hpa.doc, "spec", "scaleTargetRef");
    if (
      at(ref, "kind") !== "Deployment" ||
      at(ref, "apiVersion") !== "apps/v1" ||
      at(ref, "name") !== deploymentName
    ) {
      fail(`${where(hpa)}: scaleTargetRef must name apps/v1 Deployment ${deploymentName}`);
    }
    const min = num(at(hpa.doc, "spec", "minReplicas"));
    const max = num(at(hpa.doc, "spec", "maxReplicas")) ?? 0;
    if (min === undefined || min < 2) fail(`${where(hpa)}: minReplicas must be ≥ 2 (is ${String(min)})`);
    if (max < (min ?? 2)) fail(`${where(hpa)}: maxReplicas must be ≥ minReplicas`);
    const cpu = objs(at(hpa.doc, "spec", "metrics")).some(
      (mt) =>
        mt.type === "Resource" &&
        at(mt, "resource", "name") === "cpu" &&
        at(mt, "resource", "target", "type") === "Utilization",
    );
    if (!cpu) fail(`${where(hpa)}: must scale on cpu Utilization`);
  }
}
