import { posix } from "node:path";
import type { IDeployment } from "kubernetes-models/apps/v1";
import type { IContainer, IPodSpec, IVolume } from "kubernetes-models/v1";
import { SHUTDOWN_GRACE_MS } from "../../../src/cli/serve.ts";
import { BROKER_IMAGE, BROKER_PORT, type Manifest, named, ofKind } from "./artefacts.ts";
import { checkShippedPolicies, flagValue, isUnder, loadShippedConfig } from "./broker-files.ts";
import { type Fail, imageName, NODE_OPTIONS_FLAG, secretLiteral } from "./shared-rules.ts";

/** The broker Deployment, unpacked for the rules. */
export interface Broker {
  set: readonly Manifest[];
  where: string;
  deployment: IDeployment;
  pod: IPodSpec;
  labels: Record<string, string>;
  container: IContainer;
  /** The container's environment: literal values, and values a secretKeyRef resolves to in the set. */
  env: Record<string, string | undefined>;
}

/** A non-empty matchLabels selector that selects the given pod labels. */
export function selects(
  selector: Record<string, string> | undefined,
  labels: Record<string, string>,
): boolean {
  const entries = Object.entries(selector ?? {});
  return entries.length > 0 && entries.every(([k, v]) => labels[k] === v);
}

/** The container port number a probe's, Service's or NetworkPolicy's port (number or name) refers to. */
export function portNumber(
  port: number | string | undefined,
  container: IContainer | undefined,
): number | undefined {
  return typeof port === "string" ? container?.ports?.find((p) => p.name === port)?.containerPort : port;
}

/** The value a secretKeyRef resolves to in the set (stringData, or base64 data). */
function secretValue(
  set: readonly Manifest[],
  ref: { name?: string; key: string } | undefined,
): string | undefined {
  const secret = named(set, "Secret", ref?.name);
  if (!secret || !ref) return undefined;
  const b64 = secret.data?.[ref.key];
  return (
    secret.stringData?.[ref.key] ?? (b64 === undefined ? undefined : Buffer.from(b64, "base64").toString())
  );
}

/** The one Deployment running the broker image. */
export function findBroker(set: readonly Manifest[], fail: Fail): Broker | undefined {
  const runsBroker = (c: IContainer) => imageName(c.image ?? "") === BROKER_IMAGE;
  const found = ofKind(set, "Deployment").filter((d) => d.spec?.template.spec?.containers.some(runsBroker));
  const deployment = found[0];
  const pod = deployment?.spec?.template.spec;
  const container = pod?.containers.find(runsBroker);
  if (found.length !== 1 || !deployment || !pod || !container) {
    fail(`exactly one Deployment must run the ${BROKER_IMAGE} image, found ${found.length}`);
    return undefined;
  }
  const env: Broker["env"] = {};
  for (const e of container.env ?? []) env[e.name] = e.value ?? secretValue(set, e.valueFrom?.secretKeyRef);
  const labels = deployment.spec?.template.metadata?.labels ?? {};
  return { set, where: `Deployment/${deployment.metadata?.name}`, deployment, pod, labels, container, env };
}

/** Replicas, the port, and the probes on the paths of CONTRACT §3 (/readyz: ready to serve, /healthz: alive). */
export function checkProbes({ where, deployment, container }: Broker, fail: Fail): void {
  if ((deployment.spec?.replicas ?? 1) < 2) fail(`${where}: replicas must be ≥ 2`);
  if (!container.ports?.some((p) => p.containerPort === BROKER_PORT))
    fail(`${where}: no container port ${BROKER_PORT}`);
  const probes = [
    ["readinessProbe", container.readinessProbe, "/readyz"],
    ["livenessProbe", container.livenessProbe, "/healthz"],
    ["startupProbe", container.startupProbe, "/healthz"],
  ] as const;
  for (const [name, probe, path] of probes) {
    const get = probe?.httpGet;
    if (get?.path !== path || portNumber(get.port, container) !== BROKER_PORT)
      fail(`${where}: ${name} must be an httpGet of ${path} on port ${BROKER_PORT}`);
  }
}

/** Non-root, read-only, no privileges or capabilities, no API credentials, and the resources the HPA needs. */
export function checkSecurity({ where, pod, container }: Broker, fail: Fail): void {
  const podSc = pod.securityContext;
  const sc = container.securityContext;
  if ((sc?.runAsNonRoot ?? podSc?.runAsNonRoot) !== true) fail(`${where}: runAsNonRoot must be true`);
  if ((sc?.runAsUser ?? podSc?.runAsUser) === 0) fail(`${where}: runAsUser must not be 0`);
  if ((sc?.seccompProfile ?? podSc?.seccompProfile)?.type !== "RuntimeDefault")
    fail(`${where}: seccompProfile must be RuntimeDefault`);
  if (sc?.readOnlyRootFilesystem !== true) fail(`${where}: readOnlyRootFilesystem must be true`);
  if (sc?.allowPrivilegeEscalation !== false) fail(`${where}: allowPrivilegeEscalation must be false`);
  if (sc?.privileged === true) fail(`${where}: must not be privileged`);
  if (!sc?.capabilities?.drop?.includes("ALL") || (sc.capabilities.add ?? []).length > 0)
    fail(`${where}: capabilities must drop ALL and add none`);
  if (pod.automountServiceAccountToken !== false)
    fail(`${where}: automountServiceAccountToken must be false`);
  const { requests, limits } = container.resources ?? {};
  // The HPA's utilisation is measured against requests.cpu; the memory limit bounds a runaway policy set.
  if (!requests?.cpu || !requests.memory || !limits?.memory)
    fail(`${where}: resources.requests.cpu, requests.memory and limits.memory must be set`);
}

/** preStop lets endpoints drop the pod; the grace period must outlast it and the broker's own drain. */
export function checkShutdown({ where, pod, container }: Broker, fail: Fail): void {
  const sleep = container.lifecycle?.preStop?.sleep?.seconds ?? 0;
  if (sleep < 1) fail(`${where}: lifecycle.preStop must sleep a few seconds`);
  const drain = SHUTDOWN_GRACE_MS / 1000;
  if ((pod.terminationGracePeriodSeconds ?? 30) <= sleep + drain)
    fail(
      `${where}: terminationGracePeriodSeconds must exceed preStop (${sleep} s) + the broker's ${drain} s drain`,
    );
}

/** The environment: no literal secrets, REDIS_URL resolvable, NODE_OPTIONS keeping the memory flag. */
export function checkEnvironment({ where, container, env }: Broker, fail: Fail): void {
  for (const e of container.env ?? []) {
    const secret = e.value === undefined ? undefined : secretLiteral(e.name, e.value);
    if (secret) fail(`${where}: env ${secret}`);
  }
  if (env.REDIS_URL === undefined) fail(`${where}: REDIS_URL must come from a Secret key in the set`);
  if (env.NODE_OPTIONS !== undefined && !env.NODE_OPTIONS.includes(NODE_OPTIONS_FLAG))
    fail(`${where}: NODE_OPTIONS replaces the image's ${NODE_OPTIONS_FLAG}`);
}

/** Mounted ConfigMaps/Secrets exist, whole directories only; the config and policies load with the real loader. */
export function checkConfig(b: Broker, fail: Fail): void {
  const { where, set, pod, container } = b;
  for (const v of pod.volumes ?? []) {
    if (v.configMap && !named(set, "ConfigMap", v.configMap.name))
      fail(`${where}: ConfigMap ${v.configMap.name} does not exist`);
    if (v.secret && !named(set, "Secret", v.secret.secretName))
      fail(`${where}: Secret ${v.secret.secretName} does not exist`);
  }
  const mounts = (container.volumeMounts ?? []).map((m) => {
    // The kubelet never updates a subPath mount: ConfigMap edits (policy hot reload) would not reach the pod.
    if (m.subPath !== undefined || m.subPathExpr !== undefined)
      fail(`${where}: volumeMount ${m.name} uses subPath`);
    return { path: m.mountPath, volume: pod.volumes?.find((v) => v.name === m.name) };
  });
  const mountOf = (path: string): { path: string; volume: IVolume | undefined } | undefined =>
    mounts.filter((m) => isUnder(path, m.path)).sort((x, y) => y.path.length - x.path.length)[0];

  const configPath =
    flagValue([...(container.command ?? []), ...(container.args ?? [])], "--config") ??
    b.env.WIF_BROKER_CONFIG;
  const mount = configPath === undefined ? undefined : mountOf(configPath);
  const key = configPath && mount ? posix.relative(mount.path, configPath) : "";
  const text = named(set, "ConfigMap", mount?.volume?.configMap?.name)?.data?.[key];
  if (configPath === undefined || text === undefined) {
    fail(`${where}: --config ${configPath} must be a key of a mounted ConfigMap`);
    return;
  }
  const config = loadShippedConfig(
    `ConfigMap ${mount?.volume?.configMap?.name} ${key}`,
    text,
    configPath,
    b.env,
    fail,
  );
  if (!config) return;
  const policyMount = mountOf(config.policies);
  const policies = named(set, "ConfigMap", policyMount?.volume?.configMap?.name);
  if (!policyMount || !policies) fail(`${where}: policies ${config.policies} must be a mounted ConfigMap`);
  else {
    // The policies path is the mount (every key a file, as readPolicyFiles reads it) or one key of it.
    const key = posix.relative(policyMount.path, config.policies);
    const files = Object.entries(policies.data ?? {})
      .filter(([name]) => (key === "" ? /\.ya?ml$/.test(name) && !/\.test\.ya?ml$/.test(name) : name === key))
      .map(([name, text]) => ({ path: posix.join(policyMount.path, name), text }));
    checkShippedPolicies(`ConfigMap ${policies.metadata?.name}`, files, config, fail);
  }
  // Every replica must sign with the same keys: a Secret, never a per-pod ephemeral key.
  const keys = config.signing.keysDir === undefined ? undefined : mountOf(config.signing.keysDir);
  if (!keys?.volume?.secret)
    fail(`${where}: signing.keysDir ${config.signing.keysDir} must be a mounted Secret`);
}
