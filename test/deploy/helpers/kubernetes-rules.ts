import type { INetworkPolicyPeer, INetworkPolicyPort } from "kubernetes-models/networking.k8s.io/v1";
import { type Artefacts, BROKER_PORT, type Manifest, ofKind } from "./artefacts.ts";
import {
  type Broker,
  checkConfig,
  checkEnvironment,
  checkProbes,
  checkSecurity,
  checkShutdown,
  findBroker,
  portNumber,
  selects,
} from "./kubernetes-broker-rules.ts";
import { type Fail, imageName, imageProblem } from "./shared-rules.ts";
import { kubernetesSchemaProblems } from "./validators.ts";

/** Every problem of deploy/kubernetes: the schemas, then the rules; none for the shipped files. */
export function kubernetesProblems(a: Artefacts): string[] {
  const problems = kubernetesSchemaProblems(a.kubernetes);
  const fail: Fail = (p) => problems.push(p);
  checkSet(a, fail);
  const broker = findBroker(a.kubernetes, fail);
  if (!broker) return problems;
  for (const check of [
    checkProbes,
    checkSecurity,
    checkShutdown,
    checkEnvironment,
    checkConfig,
    checkAvailability,
  ])
    check(broker, fail);
  checkRedis(broker, fail);
  checkNetworkPolicies(broker, fail);
  return problems;
}

/** One namespace, no duplicates, pinned images, no private key committed, kustomize applying every real file. */
function checkSet({ kubernetes: set, k8sFiles, kustomization }: Artefacts, fail: Fail): void {
  const namespaces = ofKind(set, "Namespace").map((n) => n.metadata?.name);
  if (namespaces.length !== 1) fail(`exactly one Namespace expected, found ${namespaces.length}`);
  const seen = new Set<string>();
  for (const { file, doc } of set) {
    const id = `${doc.kind}/${doc.metadata?.name}`;
    if (seen.has(id)) fail(`${file}: duplicate object ${id}`);
    seen.add(id);
    if (doc.kind !== "Namespace" && doc.metadata?.namespace !== namespaces[0])
      fail(`${file}: ${id} must be in the Namespace ${namespaces[0]}`);
  }
  for (const d of ofKind(set, "Deployment")) {
    for (const c of [
      ...(d.spec?.template.spec?.containers ?? []),
      ...(d.spec?.template.spec?.initContainers ?? []),
    ]) {
      const problem = imageProblem(c.image ?? "");
      if (problem) fail(`Deployment/${d.metadata?.name}: ${problem}`);
    }
  }
  for (const s of ofKind(set, "Secret")) {
    const values = [...Object.values(s.stringData ?? {}), ...Object.values(s.data ?? {}).map((v) => atob(v))];
    if (values.some((v) => v.includes("PRIVATE KEY-----")))
      fail(`Secret/${s.metadata?.name} holds a private key`);
  }
  // An *.example.yaml holds placeholders: applying it would overwrite the real Secret of the same name.
  const expected = k8sFiles.filter((f) => !/\.example\.ya?ml$/.test(f));
  const listed = kustomization.resources ?? [];
  const missing = expected.filter((f) => !listed.includes(f));
  const extra = listed.filter((f) => !expected.includes(f));
  if (missing.length + extra.length > 0)
    fail(`kustomization.yaml resources: missing [${missing.join(", ")}], unexpected [${extra.join(", ")}]`);
  if (kustomization.namespace !== namespaces[0])
    fail(`kustomization.yaml namespace must be ${namespaces[0]}`);
  for (const img of kustomization.images ?? []) {
    if (img.newTag === undefined || imageProblem(`${img.newName ?? img.name}:${img.newTag}`))
      fail(`kustomization.yaml images: ${img.name} needs an explicit newTag`);
  }
}

/** A Service in front of the broker port, a PodDisruptionBudget that permits drains, an HPA on CPU. */
function checkAvailability({ set, labels, container, deployment }: Broker, fail: Fail): void {
  const services = ofKind(set, "Service").filter((s) => selects(s.spec?.selector, labels));
  if (services.length === 0) fail("no Service selects the broker pods");
  for (const s of services) {
    for (const p of s.spec?.ports ?? [])
      if (portNumber(p.targetPort ?? p.port, container) !== BROKER_PORT)
        fail(`Service/${s.metadata?.name}: targetPort must reach ${BROKER_PORT}`);
  }
  const replicas = deployment.spec?.replicas ?? 1;
  const pdbs = ofKind(set, "PodDisruptionBudget").filter((p) =>
    selects(p.spec?.selector?.matchLabels, labels),
  );
  if (pdbs.length !== 1)
    fail(`exactly one PodDisruptionBudget must select the broker pods, found ${pdbs.length}`);
  for (const pdb of pdbs) {
    const min = pdb.spec?.minAvailable;
    // minAvailable ≥ replicas blocks every node drain; 0 protects nothing.
    if (typeof min !== "number" || min < 1 || min >= replicas)
      fail(`PodDisruptionBudget/${pdb.metadata?.name}: minAvailable must be ≥ 1 and below replicas`);
  }
  const hpas = ofKind(set, "HorizontalPodAutoscaler");
  if (hpas.length !== 1) fail(`exactly one HorizontalPodAutoscaler expected, found ${hpas.length}`);
  for (const hpa of hpas) {
    const where = `HorizontalPodAutoscaler/${hpa.metadata?.name}`;
    const ref = hpa.spec?.scaleTargetRef;
    if (ref?.kind !== "Deployment" || ref.name !== deployment.metadata?.name)
      fail(`${where}: scaleTargetRef must name Deployment/${deployment.metadata?.name}`);
    if ((hpa.spec?.minReplicas ?? 1) < 2) fail(`${where}: minReplicas must be ≥ 2`);
    if (
      !hpa.spec?.metrics?.some((m) => m.resource?.name === "cpu" && m.resource.target.type === "Utilization")
    )
      fail(`${where}: must scale on cpu Utilization`);
  }
}

/** The pod labels of the Redis (or Valkey) workload. */
function redisLabels(set: readonly Manifest[]): Record<string, string> {
  const redis = ofKind(set, "Deployment").find((d) =>
    d.spec?.template.spec?.containers.some((c) => ["redis", "valkey"].includes(imageName(c.image ?? ""))),
  );
  return redis?.spec?.template.metadata?.labels ?? {};
}

/** REDIS_URL names the Service in front of the Redis workload, on a port it serves. */
function checkRedis({ set, env }: Broker, fail: Fail): void {
  const service = ofKind(set, "Service").find((s) => selects(s.spec?.selector, redisLabels(set)));
  const url = env.REDIS_URL !== undefined && URL.canParse(env.REDIS_URL) ? new URL(env.REDIS_URL) : undefined;
  const host = url?.hostname ?? "";
  const name = service?.metadata?.name ?? "?";
  const port = Number(url?.port || 6379);
  if (
    !service ||
    !["redis:", "rediss:"].includes(url?.protocol ?? "") ||
    !(host === name || host.startsWith(`${name}.`))
  )
    fail(`REDIS_URL must be a redis:// URL of the Redis Service ${name} (host is "${host}")`);
  else if (!service.spec?.ports?.some((p) => p.port === port))
    fail(`REDIS_URL port ${port} is not a port of Service/${name}`);
}

/** The broker takes the broker port and reaches DNS, Redis and 443 only; Redis admits the broker only. */
function checkNetworkPolicies({ set, labels, container }: Broker, fail: Fail): void {
  const policies = ofKind(set, "NetworkPolicy");
  const np = policies.find((n) => selects(n.spec?.podSelector?.matchLabels, labels));
  if (!np) {
    fail("no NetworkPolicy selects the broker pods");
    return;
  }
  const where = `NetworkPolicy/${np.metadata?.name}`;
  if (!np.spec?.policyTypes?.includes("Ingress") || !np.spec.policyTypes.includes("Egress"))
    fail(`${where}: policyTypes must be Ingress and Egress`);
  const ingress = np.spec?.ingress ?? [];
  if (
    ingress.length === 0 ||
    ingress.some(
      (r) => !r.ports?.length || r.ports.some((p) => portNumber(p.port, container) !== BROKER_PORT),
    )
  )
    fail(`${where}: ingress must be limited to port ${BROKER_PORT}`);
  const egress = np.spec?.egress ?? [];
  const allows = (port: number, protocol: string, peer = (_: INetworkPolicyPeer[]) => true) =>
    egress.some(
      (r) =>
        r.ports?.some((p: INetworkPolicyPort) => p.port === port && (p.protocol ?? "TCP") === protocol) &&
        peer(r.to ?? []),
    );
  if (!allows(53, "UDP") || !allows(53, "TCP")) fail(`${where}: egress must allow DNS on 53/UDP and 53/TCP`);
  if (!allows(443, "TCP")) fail(`${where}: egress must allow 443/TCP (JWKS, cloud APIs)`);
  if (egress.some((r) => !r.ports?.length)) fail(`${where}: an egress rule without ports allows everything`);

  const redis = redisLabels(set);
  if (!allows(6379, "TCP", (to) => to.some((t) => selects(t.podSelector?.matchLabels, redis))))
    fail(`${where}: egress must allow the Redis pods on 6379`);
  const redisNp = policies.find((n) => selects(n.spec?.podSelector?.matchLabels, redis));
  const from = (redisNp?.spec?.ingress ?? []).flatMap((r) => r.from ?? []);
  if (from.length === 0 || !from.every((f) => selects(f.podSelector?.matchLabels, labels)))
    fail("a Redis NetworkPolicy must admit ingress from the broker pods only");
}
