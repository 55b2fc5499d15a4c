/**
 * Deployment artefacts: deploy/kubernetes/*.yaml, deploy/compose.yaml, Dockerfile, .dockerignore.
 *
 * Offline validation only:
 * - Kubernetes objects against the Kubernetes OpenAPI schemas compiled into `kubernetes-models` (types,
 *   required fields, enums, formats), plus an unknown-field check driven by the generated models of
 *   `@kubernetes/client-node` (the OpenAPI schemas themselves allow unknown fields, a typo such as
 *   `readinesProbe` would pass them);
 * - compose.yaml against the Compose Specification JSON Schema shipped by `dclint` (via ajv), plus dclint's
 *   semantic rules;
 * - wif-broker.yaml and the policies shipped in the ConfigMap and compose folder against the product's own
 *   config and policy schemas;
 * - then the structural requirements (probes, selectors, references between objects, security settings).
 *
 * Every check is a function that returns a list of problems. The real files must produce none; the mutation
 * tables below change one thing at a time and prove that the matching check reports it.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, posix, relative, resolve } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import * as k8sClient from "@kubernetes/client-node";
import { Ajv } from "ajv";
import { DCLinter } from "dclint";
import { validate as validateDeployment } from "kubernetes-models/_schemas/IoK8sApiAppsV1Deployment";
import { validate as validateStatefulSet } from "kubernetes-models/_schemas/IoK8sApiAppsV1StatefulSet";
import { validate as validateHpa } from "kubernetes-models/_schemas/IoK8sApiAutoscalingV2HorizontalPodAutoscaler";
import { validate as validateConfigMap } from "kubernetes-models/_schemas/IoK8sApiCoreV1ConfigMap";
import { validate as validateNamespace } from "kubernetes-models/_schemas/IoK8sApiCoreV1Namespace";
import { validate as validateSecret } from "kubernetes-models/_schemas/IoK8sApiCoreV1Secret";
import { validate as validateService } from "kubernetes-models/_schemas/IoK8sApiCoreV1Service";
import { validate as validateServiceAccount } from "kubernetes-models/_schemas/IoK8sApiCoreV1ServiceAccount";
import { validate as validateNetworkPolicy } from "kubernetes-models/_schemas/IoK8sApiNetworkingV1NetworkPolicy";
import { validate as validatePdb } from "kubernetes-models/_schemas/IoK8sApiPolicyV1PodDisruptionBudget";
import { parseAllDocuments, parse as parseYaml } from "yaml";
import { configSchema } from "../../src/config/schema.ts";
import { policySchema } from "../../src/policy/schema.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const DEPLOY = join(ROOT, "deploy");
const K8S_DIR = join(DEPLOY, "kubernetes");
const BROKER_PORT = 8080;
const BROKER_IMAGE = "wif-broker";
/** The broker's own budget after SIGTERM before it forces exit (SHUTDOWN_GRACE_MS in src/cli/serve.ts). */
const BROKER_DRAIN_SECONDS = 25;

// ---------------------------------------------------------------------------------------------------------
// Small typed accessors over parsed YAML (which is `unknown` until checked).

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
function at(v: unknown, ...path: Array<string | number>): unknown {
  let cur: unknown = v;
  for (const key of path) {
    if (typeof key === "number") cur = Array.isArray(cur) ? cur[key] : undefined;
    else cur = isObj(cur) ? cur[key] : undefined;
  }
  return cur;
}
function str(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}
function num(v: unknown): number | undefined {
  return typeof v === "number" ? v : undefined;
}
function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}
function objs(v: unknown): Obj[] {
  return list(v).filter(isObj);
}
function strings(v: unknown): string[] {
  return list(v).filter((x): x is string => typeof x === "string");
}
function labelsOf(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (isObj(v)) for (const [k, x] of Object.entries(v)) if (typeof x === "string") out[k] = x;
  return out;
}
/** A non-empty matchLabels selector that selects the given pod labels. */
function selects(selector: unknown, podLabels: Record<string, string>): boolean {
  const match = labelsOf(selector);
  const keys = Object.keys(match);
  return keys.length > 0 && keys.every((k) => podLabels[k] === match[k]);
}
function clone<T>(v: T): T {
  return structuredClone(v);
}

// ---------------------------------------------------------------------------------------------------------
// Kubernetes: loading

interface Manifest {
  file: string;
  doc: Obj;
}
interface K8sSet {
  manifests: Manifest[];
  /** deploy/kubernetes/*.yaml file names (kustomization.yaml excluded). */
  files: string[];
  kustomization: Obj;
}

function loadYamlDocs(file: string, text: string): Obj[] {
  const docs: Obj[] = [];
  for (const d of parseAllDocuments(text)) {
    if (d.errors.length > 0) throw new Error(`${file}: ${d.errors.map((e) => e.message).join("; ")}`);
    const js: unknown = d.toJS();
    if (js === null || js === undefined) continue;
    if (!isObj(js)) throw new Error(`${file}: a document is not a mapping`);
    docs.push(js);
  }
  return docs;
}

function loadK8sSet(): K8sSet {
  const files = readdirSync(K8S_DIR)
    .filter((f) => f.endsWith(".yaml") || f.endsWith(".yml"))
    .sort();
  const manifests: Manifest[] = [];
  let kustomization: Obj = {};
  for (const file of files) {
    const docs = loadYamlDocs(file, readFileSync(join(K8S_DIR, file), "utf8"));
    if (file === "kustomization.yaml") kustomization = docs[0] ?? {};
    else for (const doc of docs) manifests.push({ file, doc });
  }
  return { manifests, files: files.filter((f) => f !== "kustomization.yaml"), kustomization };
}

function kindOf(m: Manifest): string {
  return str(m.doc.kind) ?? "?";
}
function nameOf(m: Manifest): string {
  return str(at(m.doc, "metadata", "name")) ?? "?";
}
function where(m: Manifest): string {
  return `${m.file}: ${kindOf(m)}/${nameOf(m)}`;
}
function ofKind(set: K8sSet, kind: string): Manifest[] {
  return set.manifests.filter((m) => kindOf(m) === kind);
}

// ---------------------------------------------------------------------------------------------------------
// Kubernetes: schema validation (kubernetes-models) and unknown fields (@kubernetes/client-node models)

type ValidateFn = (data: unknown) => boolean;

const SCHEMAS: ReadonlyMap<string, ValidateFn> = new Map<string, ValidateFn>([
  ["v1/Namespace", validateNamespace],
  ["v1/ServiceAccount", validateServiceAccount],
  ["v1/ConfigMap", validateConfigMap],
  ["v1/Secret", validateSecret],
  ["v1/Service", validateService],
  ["apps/v1/Deployment", validateDeployment],
  ["apps/v1/StatefulSet", validateStatefulSet],
  ["policy/v1/PodDisruptionBudget", validatePdb],
  ["autoscaling/v2/HorizontalPodAutoscaler", validateHpa],
  ["networking.k8s.io/v1/NetworkPolicy", validateNetworkPolicy],
]);

function schemaErrors(fn: ValidateFn): string[] {
  const errors: unknown = Reflect.get(fn, "errors");
  return objs(errors).map((e) => {
    const path = str(e.instancePath) || "/";
    return `${path} ${str(e.keyword) ?? "invalid"} ${JSON.stringify(e.params ?? {})}`;
  });
}

const clientModels: ReadonlyMap<string, unknown> = new Map<string, unknown>(Object.entries(k8sClient));
const PRIMITIVE_TYPES = new Set(["string", "number", "boolean", "Date", "any", "object", "IntOrString"]);
const attributeCache = new Map<string, ReadonlyMap<string, string>>();

/** baseName → type of the generated model class `name`, or undefined when there is no such model. */
function attributesOf(name: string): ReadonlyMap<string, string> | undefined {
  const cached = attributeCache.get(name);
  if (cached) return cached;
  const model = clientModels.get(name);
  if (typeof model !== "function") return undefined;
  const getter: unknown = Reflect.get(model, "getAttributeTypeMap");
  if (typeof getter !== "function") return undefined;
  const attrs: unknown = Reflect.apply(getter, model, []);
  const map = new Map<string, string>();
  for (const a of objs(attrs)) {
    const base = str(a.baseName);
    const type = str(a.type);
    if (base !== undefined && type !== undefined) map.set(base, type);
  }
  attributeCache.set(name, map);
  return map;
}

function unknownFields(value: unknown, type: string, path: string, out: string[]): void {
  if (value === null || value === undefined) return;
  const array = /^Array<(.+)>$/.exec(type);
  if (array?.[1]) {
    const inner = array[1];
    list(value).forEach((v, i) => {
      unknownFields(v, inner, `${path}[${i}]`, out);
    });
    return;
  }
  const dict = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (dict?.[1]) {
    const inner = dict[1];
    if (isObj(value))
      for (const [k, v] of Object.entries(value)) unknownFields(v, inner, `${path}.${k}`, out);
    return;
  }
  if (PRIMITIVE_TYPES.has(type)) return;
  const attrs = attributesOf(type);
  if (!attrs) {
    out.push(`${path}: no model ${type} in @kubernetes/client-node`);
    return;
  }
  if (!isObj(value)) return; // a type mismatch is the schema's to report
  for (const [k, v] of Object.entries(value)) {
    const t = attrs.get(k);
    if (t === undefined) out.push(`${path}.${k}`);
    else unknownFields(v, t, `${path}.${k}`, out);
  }
}

/** `apps/v1` + `Deployment` → `V1Deployment`, `autoscaling/v2` → `V2…`. */
function clientModelName(apiVersion: string, kind: string): string {
  const version = apiVersion.split("/").pop() ?? "";
  return `${version.charAt(0).toUpperCase()}${version.slice(1)}${kind}`;
}

function schemaProblems(manifests: readonly Manifest[]): string[] {
  const problems: string[] = [];
  for (const m of manifests) {
    const apiVersion = str(m.doc.apiVersion) ?? "?";
    const key = `${apiVersion}/${kindOf(m)}`;
    const validate = SCHEMAS.get(key);
    if (!validate) {
      problems.push(`${where(m)}: no schema for ${key} (add it to SCHEMAS in this test)`);
      continue;
    }
    if (!validate(m.doc)) for (const e of schemaErrors(validate)) problems.push(`${where(m)}: schema: ${e}`);
    const unknown: string[] = [];
    unknownFields(m.doc, clientModelName(apiVersion, kindOf(m)), "", unknown);
    for (const u of unknown) problems.push(`${where(m)}: unknown field ${u}`);
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------------------
// Kubernetes: images

/** Problems with an image reference: it must carry an explicit version tag (or a digest), never `latest`. */
function imageProblem(image: string): string | undefined {
  if (image.includes("@sha256:")) return undefined;
  const lastSegment = image.split("/").pop() ?? "";
  const colon = lastSegment.indexOf(":");
  if (colon < 0) return `image ${image} has no tag`;
  const tag = lastSegment.slice(colon + 1);
  if (["", "latest", "stable", "edge", "main", "master"].includes(tag))
    return `image ${image} uses a moving tag`;
  return undefined;
}
function imageName(image: string): string {
  const noDigest = image.split("@")[0] ?? image;
  const last = noDigest.split("/").pop() ?? noDigest;
  return last.split(":")[0] ?? last;
}

// ---------------------------------------------------------------------------------------------------------
// Kubernetes: structural checks

interface Workload {
  m: Manifest;
  podSpec: Obj;
  podLabels: Record<string, string>;
  containers: Obj[];
}
function workloads(set: K8sSet): Workload[] {
  return set.manifests
    .filter((m) => ["Deployment", "StatefulSet"].includes(kindOf(m)))
    .map((m) => {
      const podSpec = at(m.doc, "spec", "template", "spec");
      return {
        m,
        podSpec: isObj(podSpec) ? podSpec : {},
        podLabels: labelsOf(at(m.doc, "spec", "template", "metadata", "labels")),
        containers: objs(at(podSpec, "containers")),
      };
    });
}

/** The container port number a probe's or Service's port (number or name) refers to. */
function resolvePort(port: unknown, container: Obj | undefined): number | undefined {
  if (typeof port === "number") return port;
  if (typeof port === "string") {
    const p = objs(container?.ports).find((x) => x.name === port);
    return num(p?.containerPort);
  }
  return undefined;
}

/** Value of `--flag VALUE` or `--flag=VALUE` in an argument list. */
function flagValue(args: readonly string[], flag: string): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === flag) return args[i + 1];
    if (a?.startsWith(`${flag}=`)) return a.slice(flag.length + 1);
  }
  return undefined;
}

function secretValue(secret: Manifest | undefined, key: string): string | undefined {
  if (!secret) return undefined;
  const plain = str(at(secret.doc, "stringData", key));
  if (plain !== undefined) return plain;
  const b64 = str(at(secret.doc, "data", key));
  return b64 === undefined ? undefined : Buffer.from(b64, "base64").toString("utf8");
}

function isUnder(path: string, dir: string): boolean {
  const rel = posix.relative(dir, path);
  return rel === "" || (!rel.startsWith("..") && !posix.isAbsolute(rel));
}

function parsePolicies(
  file: string,
  text: string,
  providers: ReadonlySet<string>,
  problems: string[],
): string[] {
  const names: string[] = [];
  let docs: Obj[];
  try {
    docs = loadYamlDocs(file, text);
  } catch (e) {
    problems.push(`policy ${file}: ${e instanceof Error ? e.message : String(e)}`);
    return names;
  }
  for (const doc of docs) {
    const parsed = policySchema.safeParse(doc);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        problems.push(`policy ${file}: ${issue.path.join(".") || "(root)"}: ${issue.message}`);
      }
      continue;
    }
    names.push(parsed.data.metadata.name);
    const refs =
      typeof parsed.data.spec.provider === "string" ? [parsed.data.spec.provider] : parsed.data.spec.provider;
    for (const p of refs) {
      if (!providers.has(p)) problems.push(`policy ${file}: provider "${p}" is not a provider in the config`);
    }
  }
  return names;
}

interface ParsedConfig {
  policies: string;
  keysDir: string | undefined;
  providers: Set<string>;
}
function parseBrokerConfig(label: string, text: string, problems: string[]): ParsedConfig | undefined {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (e) {
    problems.push(`${label}: ${e instanceof Error ? e.message : String(e)}`);
    return undefined;
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      problems.push(`${label}: ${issue.path.join(".") || "(root)"}: ${issue.message}`);
    }
    return undefined;
  }
  return {
    policies: parsed.data.policies,
    keysDir: parsed.data.signing.keysDir,
    providers: new Set(parsed.data.providers.map((p) => p.name)),
  };
}

function kubernetesProblems(set: K8sSet): string[] {
  const problems: string[] = [];
  const fail = (msg: string): void => {
    problems.push(msg);
  };
  problems.push(...schemaProblems(set.manifests));

  // Identity, namespace, uniqueness.
  const namespaces = ofKind(set, "Namespace");
  if (namespaces.length !== 1) fail(`exactly one Namespace expected, found ${namespaces.length}`);
  const nsName = namespaces[0] ? nameOf(namespaces[0]) : undefined;
  const seen = new Set<string>();
  for (const m of set.manifests) {
    if (nameOf(m) === "?") fail(`${where(m)}: missing metadata.name`);
    const id = `${kindOf(m)}/${nameOf(m)}`;
    if (seen.has(id)) fail(`${where(m)}: duplicate object ${id}`);
    seen.add(id);
    if (kindOf(m) !== "Namespace" && str(at(m.doc, "metadata", "namespace")) !== nsName) {
      fail(`${where(m)}: metadata.namespace must be the Namespace ${nsName ?? "?"}`);
    }
  }
  const byName = (kind: string, name: string | undefined): Manifest | undefined =>
    name === undefined ? undefined : set.manifests.find((m) => kindOf(m) === kind && nameOf(m) === name);

  // Every image pinned.
  const all = workloads(set);
  for (const w of all) {
    for (const c of [...w.containers, ...objs(w.podSpec.initContainers)]) {
      const image = str(c.image);
      if (image === undefined) fail(`${where(w.m)}: container ${str(c.name) ?? "?"} has no image`);
      else {
        const p = imageProblem(image);
        if (p) fail(`${where(w.m)}: ${p} (needs an explicit version tag)`);
      }
    }
  }

  // The broker Deployment.
  const brokers = all.filter(
    (w) =>
      kindOf(w.m) === "Deployment" &&
      w.containers.some((c) => imageName(str(c.image) ?? "") === BROKER_IMAGE),
  );
  if (brokers.length !== 1) {
    fail(`exactly one Deployment running the ${BROKER_IMAGE} image expected, found ${brokers.length}`);
    return problems;
  }
  const broker = brokers[0] as Workload;
  const bw = where(broker.m);
  const pod = broker.podSpec;
  const podLabels = broker.podLabels;
  const container = broker.containers.find((c) => imageName(str(c.image) ?? "") === BROKER_IMAGE) as Obj;
  const deploymentName = nameOf(broker.m);

  const replicas = num(at(broker.m.doc, "spec", "replicas"));
  if (replicas === undefined || replicas < 2)
    fail(`${bw}: spec.replicas must be ≥ 2 (is ${String(replicas)})`);
  if (!selects(at(broker.m.doc, "spec", "selector", "matchLabels"), podLabels)) {
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

  // Security context: pod-level defaults, container-level overrides.
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
    if (!selects(at(t, "labelSelector", "matchLabels"), podLabels)) {
      fail(`${bw}: topologySpreadConstraints labelSelector must select the broker pods`);
    }
  }

  if (pod.automountServiceAccountToken !== false) fail(`${bw}: automountServiceAccountToken must be false`);
  if (pod.enableServiceLinks !== false) fail(`${bw}: enableServiceLinks must be false`);
  const saName = str(pod.serviceAccountName);
  const sa = byName("ServiceAccount", saName);
  if (!sa) fail(`${bw}: serviceAccountName ${String(saName)} does not exist in the set`);
  else if (sa.doc.automountServiceAccountToken !== false)
    fail(`${where(sa)}: ServiceAccount automountServiceAccountToken must be false`);

  // REDIS_URL from a Secret.
  const env = objs(container.env);
  const redisEnv = env.find((e) => e.name === "REDIS_URL");
  const redisRef = at(redisEnv, "valueFrom", "secretKeyRef");
  const redisSecret = byName("Secret", str(at(redisRef, "name")));
  const redisKey = str(at(redisRef, "key"));
  if (
    !isObj(redisRef) ||
    !redisSecret ||
    redisKey === undefined ||
    secretValue(redisSecret, redisKey) === undefined
  ) {
    fail(`${bw}: REDIS_URL must come from a secretKeyRef to a Secret (and key) in the set`);
  }

  // Volumes: referenced ConfigMaps/Secrets exist; whole-directory mounts only (hot reload).
  const volumes = new Map<string, Obj>();
  for (const v of objs(pod.volumes)) if (typeof v.name === "string") volumes.set(v.name, v);
  for (const [vName, v] of volumes) {
    const cm = str(at(v, "configMap", "name"));
    const sec = str(at(v, "secret", "secretName"));
    if (cm !== undefined && !byName("ConfigMap", cm))
      fail(`${bw}: volume ${vName}: ConfigMap ${cm} does not exist`);
    if (sec !== undefined && !byName("Secret", sec))
      fail(`${bw}: volume ${vName}: Secret ${sec} does not exist`);
  }
  const mounts = objs(container.volumeMounts);
  for (const mount of mounts) {
    if (mount.subPath !== undefined || mount.subPathExpr !== undefined) {
      fail(`${bw}: volumeMount ${String(mount.name)} uses subPath: ConfigMap/Secret updates never reach it`);
    }
    if (!volumes.has(str(mount.name) ?? "")) fail(`${bw}: volumeMount ${String(mount.name)} has no volume`);
  }
  const mountOf = (path: string): { mountPath: string; volume: Obj } | undefined => {
    const hits = mounts
      .map((mt) => ({ mountPath: str(mt.mountPath) ?? "", volume: volumes.get(str(mt.name) ?? "") }))
      .filter(
        (x): x is { mountPath: string; volume: Obj } => x.volume !== undefined && isUnder(path, x.mountPath),
      )
      .sort((a, b) => b.mountPath.length - a.mountPath.length);
    return hits[0];
  };

  // The config file: --config (or WIF_BROKER_CONFIG) inside a ConfigMap mount that has that key.
  const args = [...strings(container.command), ...strings(container.args)];
  const configFlag = flagValue(args, "--config");
  const configEnv = str(env.find((e) => e.name === "WIF_BROKER_CONFIG")?.value);
  if (configFlag !== undefined && configEnv !== undefined && configFlag !== configEnv) {
    fail(`${bw}: --config ${configFlag} and WIF_BROKER_CONFIG ${configEnv} disagree`);
  }
  const configPath = configFlag ?? configEnv;
  let config: ParsedConfig | undefined;
  if (configPath === undefined)
    fail(`${bw}: --config (or WIF_BROKER_CONFIG) must name the mounted config file`);
  else {
    const mount = mountOf(configPath);
    const cmName = str(at(mount?.volume, "configMap", "name"));
    const cm = byName("ConfigMap", cmName);
    const key = mount ? posix.relative(mount.mountPath, configPath) : "";
    const text = str(at(cm?.doc, "data", key));
    if (!mount || !cm || text === undefined) {
      fail(`${bw}: --config ${configPath} is not a key of a mounted ConfigMap`);
    } else {
      config = parseBrokerConfig(`ConfigMap ${String(cmName)} ${key}`, text, problems);
    }
  }
  if (config) {
    const pMount = mountOf(config.policies);
    const pcm = byName("ConfigMap", str(at(pMount?.volume, "configMap", "name")));
    if (!posix.isAbsolute(config.policies) || !pMount || !pcm) {
      fail(`${bw}: config policies path ${config.policies} must be a mounted ConfigMap directory`);
    } else {
      const names: string[] = [];
      const data = at(pcm.doc, "data");
      const entries = isObj(data) ? Object.entries(data) : [];
      if (entries.length === 0) fail(`${where(pcm)}: the policies ConfigMap holds no policy`);
      for (const [key, text] of entries) {
        if (!/\.ya?ml$/.test(key)) fail(`${where(pcm)}: key ${key} is not a .yaml file`);
        names.push(...parsePolicies(`${pcm.file} ${key}`, String(text), config.providers, problems));
      }
      if (new Set(names).size !== names.length) fail(`${where(pcm)}: policy names are not unique`);
    }
    const kMount = config.keysDir === undefined ? undefined : mountOf(config.keysDir);
    if (
      config.keysDir === undefined ||
      !kMount ||
      str(at(kMount.volume, "secret", "secretName")) === undefined
    ) {
      fail(
        `${bw}: config signing.keysDir ${String(config.keysDir)} must be a mounted Secret (shared keys for all replicas)`,
      );
    }
  }

  // Service in front of the broker.
  const services = ofKind(set, "Service");
  const brokerSvc = services.filter((s) => selects(at(s.doc, "spec", "selector"), podLabels));
  if (brokerSvc.length === 0) fail(`no Service selects the broker pods (${JSON.stringify(podLabels)})`);
  for (const s of brokerSvc) {
    for (const p of objs(at(s.doc, "spec", "ports"))) {
      const target = resolvePort(p.targetPort ?? p.port, container);
      if (target !== BROKER_PORT)
        fail(`${where(s)}: Service targetPort must reach ${BROKER_PORT} (is ${String(target)})`);
    }
  }

  // PodDisruptionBudget.
  const otherPods = all.filter((w) => w !== broker).map((w) => w.podLabels);
  const pdbs = ofKind(set, "PodDisruptionBudget").filter((p) =>
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
  const hpas = ofKind(set, "HorizontalPodAutoscaler");
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

  // Redis: a workload, a Service in front of it, and REDIS_URL pointing there.
  const redis = all.find((w) =>
    w.containers.some((c) => /^(redis|valkey)$/.test(imageName(str(c.image) ?? ""))),
  );
  const redisSvc = redis
    ? services.find((s) => selects(at(s.doc, "spec", "selector"), redis.podLabels))
    : undefined;
  if (!redis || !redisSvc) fail("a Redis Deployment/StatefulSet and a Service selecting it are required");
  else {
    const url = redisSecret && redisKey !== undefined ? secretValue(redisSecret, redisKey) : undefined;
    let parsed: URL | undefined;
    try {
      parsed = url === undefined ? undefined : new URL(url);
    } catch {
      parsed = undefined;
    }
    const svcName = nameOf(redisSvc);
    const svcPorts = objs(at(redisSvc.doc, "spec", "ports")).map((p) => num(p.port));
    const host = parsed?.hostname ?? "";
    const port = Number(parsed?.port || "6379");
    if (!parsed || !["redis:", "rediss:"].includes(parsed.protocol))
      fail(`REDIS_URL secret value is not a redis:// URL`);
    else if ((host !== svcName && !host.startsWith(`${svcName}.`)) || !svcPorts.includes(port)) {
      fail(
        `REDIS_URL host/port ${host}:${port} must be the Redis Service ${svcName} (${svcPorts.join(",")})`,
      );
    }
  }

  // NetworkPolicies.
  const nps = ofKind(set, "NetworkPolicy");
  const brokerNp = nps.find((n) => selects(at(n.doc, "spec", "podSelector", "matchLabels"), podLabels));
  if (!brokerNp) fail("no NetworkPolicy selects the broker pods");
  else {
    const w = where(brokerNp);
    const types = strings(at(brokerNp.doc, "spec", "policyTypes"));
    if (!types.includes("Ingress") || !types.includes("Egress"))
      fail(`${w}: NetworkPolicy policyTypes must be Ingress and Egress`);
    const ingress = objs(at(brokerNp.doc, "spec", "ingress"));
    if (ingress.length === 0) fail(`${w}: NetworkPolicy must allow ingress to ${BROKER_PORT}`);
    for (const rule of ingress) {
      const ports = objs(rule.ports);
      if (ports.length === 0 || ports.some((p) => resolvePort(p.port, container) !== BROKER_PORT)) {
        fail(`${w}: NetworkPolicy ingress must be limited to port ${BROKER_PORT}`);
      }
    }
    const egress = objs(at(brokerNp.doc, "spec", "egress"));
    const allows = (port: number, protocol: string, peer?: (to: Obj[]) => boolean): boolean =>
      egress.some(
        (r) =>
          objs(r.ports).some((p) => p.port === port && (p.protocol ?? "TCP") === protocol) &&
          (peer === undefined || peer(objs(r.to))),
      );
    if (
      redis &&
      !allows(6379, "TCP", (to) =>
        to.some((t) => selects(at(t, "podSelector", "matchLabels"), redis.podLabels)),
      )
    ) {
      fail(`${w}: NetworkPolicy egress must allow Redis pods on 6379`);
    }
    if (!allows(53, "UDP") || !allows(53, "TCP"))
      fail(`${w}: NetworkPolicy egress must allow DNS on 53/UDP and 53/TCP`);
    if (!allows(443, "TCP")) fail(`${w}: NetworkPolicy egress must allow 443/TCP (JWKS, cloud APIs)`);
    for (const r of egress) {
      if (objs(r.ports).length === 0) fail(`${w}: NetworkPolicy egress rule without ports allows everything`);
    }
  }
  if (redis) {
    const redisNp = nps.find((n) =>
      selects(at(n.doc, "spec", "podSelector", "matchLabels"), redis.podLabels),
    );
    const from = objs(at(redisNp?.doc, "spec", "ingress")).flatMap((r) => objs(r.from));
    if (
      !redisNp ||
      from.length === 0 ||
      !from.every((f) => selects(at(f, "podSelector", "matchLabels"), podLabels))
    ) {
      fail("a redis NetworkPolicy must admit ingress from the broker pods only");
    }
  }

  // Kustomization: lists exactly the applicable files; the image is pinned there too.
  const resources = strings(set.kustomization.resources);
  const expected = set.files.filter((f) => !/\.example\.ya?ml$/.test(f));
  const missing = expected.filter((f) => !resources.includes(f));
  const extra = resources.filter((r) => !expected.includes(r));
  if (missing.length > 0 || extra.length > 0) {
    fail(`kustomization.yaml resources: missing [${missing.join(", ")}], unexpected [${extra.join(", ")}]`);
  }
  if (set.kustomization.namespace !== nsName) fail(`kustomization.yaml namespace must be ${String(nsName)}`);
  for (const img of objs(set.kustomization.images)) {
    const tag = str(img.newTag);
    if (tag === undefined || imageProblem(`${String(img.newName ?? img.name)}:${tag}`)) {
      fail(`kustomization.yaml images: ${String(img.name)} needs an explicit newTag`);
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------------------
// Compose

const composeSchema: unknown = (() => {
  const pkg = fileURLToPath(import.meta.resolve("dclint/package.json"));
  const schema: unknown = JSON.parse(
    readFileSync(join(dirname(pkg), "schemas", "compose.schema.json"), "utf8"),
  );
  if (!isObj(schema)) throw new Error("dclint's compose.schema.json is not an object");
  const { $schema: _ignored, ...rest } = schema;
  return rest;
})();
const ajv = new Ajv({ allErrors: true, strict: false, allowUnionTypes: true });
const validateCompose = ajv.compile(isObj(composeSchema) ? composeSchema : {});

function loadCompose(): { text: string; doc: Obj } {
  const text = readFileSync(join(DEPLOY, "compose.yaml"), "utf8");
  const doc: unknown = parseYaml(text, { merge: true });
  if (!isObj(doc)) throw new Error("compose.yaml is not a mapping");
  return { text, doc };
}

interface Mount {
  source: string;
  target: string;
  bind: boolean;
}
function composeMounts(service: Obj): Mount[] {
  return list(service.volumes).flatMap((v): Mount[] => {
    if (typeof v === "string") {
      const [source = "", target = ""] = v.split(":");
      return [{ source, target, bind: /^[./~]/.test(source) }];
    }
    if (isObj(v))
      return [{ source: str(v.source) ?? "", target: str(v.target) ?? "", bind: v.type === "bind" }];
    return [];
  });
}
function commandList(v: unknown): string[] {
  return typeof v === "string" ? v.split(/\s+/).filter(Boolean) : strings(v);
}

function composeProblems(doc: Obj, baseDir: string = DEPLOY): string[] {
  const problems: string[] = [];
  const fail = (msg: string): void => {
    problems.push(msg);
  };
  if (!validateCompose(doc)) {
    for (const e of validateCompose.errors ?? []) {
      fail(
        `compose schema: ${e.instancePath || "/"} ${e.keyword}: ${e.message ?? ""} ${JSON.stringify(e.params)}`,
      );
    }
  }
  const services = isObj(doc.services) ? doc.services : {};
  const entries = Object.entries(services).filter((e): e is [string, Obj] => isObj(e[1]));
  const declaredVolumes = isObj(doc.volumes) ? Object.keys(doc.volumes) : [];

  for (const [name, svc] of entries) {
    const image = str(svc.image);
    if (image === undefined && svc.build === undefined) fail(`compose ${name}: neither image nor build`);
    if (image !== undefined) {
      const p = imageProblem(image);
      if (p) fail(`compose ${name}: ${p} (needs an explicit version tag)`);
    }
    const deps = svc.depends_on;
    const depNames = Array.isArray(deps) ? strings(deps) : isObj(deps) ? Object.keys(deps) : [];
    for (const d of depNames)
      if (!(d in services)) fail(`compose ${name}: depends_on ${d}, which is not a service`);
    for (const m of composeMounts(svc)) {
      if (m.bind) {
        if (!existsSync(resolve(baseDir, m.source)))
          fail(`compose ${name}: bind source ${m.source} does not exist`);
      } else if (!declaredVolumes.includes(m.source)) {
        fail(`compose ${name}: named volume ${m.source} is not declared under volumes`);
      }
    }
    const build = isObj(svc.build)
      ? svc.build
      : typeof svc.build === "string"
        ? { context: svc.build }
        : undefined;
    if (build) {
      const ctx = resolve(baseDir, str(build.context) ?? ".");
      const dockerfile = join(ctx, str(build.dockerfile) ?? "Dockerfile");
      if (!existsSync(dockerfile))
        fail(`compose ${name}: build Dockerfile ${relative(ROOT, dockerfile)} does not exist`);
    }
  }

  const redis = entries.filter(([, s]) => /^(redis|valkey)$/.test(imageName(str(s.image) ?? "")));
  if (redis.length !== 1) fail(`compose: exactly one redis service expected, found ${redis.length}`);
  const redisName = redis[0]?.[0];
  const redisHc = at(redis[0]?.[1], "healthcheck");
  if (!isObj(redisHc) || redisHc.disable === true || list(redisHc.test).length === 0) {
    fail("compose: the redis service needs a healthcheck (brokers wait for service_healthy)");
  }

  const brokers = entries.filter(
    ([, s]) =>
      imageName(str(s.image) ?? "") === BROKER_IMAGE &&
      s.entrypoint === undefined &&
      (s.command === undefined || commandList(s.command).includes("serve")),
  );
  if (brokers.length !== 2) fail(`compose: exactly 2 broker services expected, found ${brokers.length}`);
  const hostPorts: number[] = [];
  const configSources = new Set<string>();
  const policySources = new Set<string>();
  for (const [name, svc] of brokers) {
    const dep = at(svc.depends_on, redisName ?? "redis", "condition");
    if (dep !== "service_healthy")
      fail(`compose ${name}: depends_on ${String(redisName)} must wait for service_healthy`);
    const hc = svc.healthcheck;
    const test = isObj(hc) ? commandList(hc.test).join(" ") : "";
    if (
      !isObj(hc) ||
      hc.disable === true ||
      !test.includes("/healthz") ||
      !test.includes(String(BROKER_PORT))
    ) {
      fail(`compose ${name}: healthcheck must probe http://127.0.0.1:${BROKER_PORT}/healthz`);
    }
    const published = list(svc.ports).flatMap((p): Array<[number, number]> => {
      if (typeof p === "string") {
        const parts = p.split(":");
        return [[Number(parts[parts.length - 2]), Number(parts[parts.length - 1])]];
      }
      if (isObj(p)) return [[Number(p.published), Number(p.target)]];
      return [];
    });
    const toBroker = published.filter(([, target]) => target === BROKER_PORT);
    if (toBroker.length !== 1)
      fail(`compose ${name}: must publish container port ${BROKER_PORT} exactly once`);
    for (const [host] of toBroker) hostPorts.push(host);

    const user = String(svc.user ?? "");
    if (user === "" || /^(0|root)(:|$)/.test(user)) fail(`compose ${name}: user must be a non-root uid`);

    const envList = svc.environment;
    const env: Record<string, string> = {};
    if (Array.isArray(envList)) {
      for (const e of strings(envList)) {
        const i = e.indexOf("=");
        if (i > 0) env[e.slice(0, i)] = e.slice(i + 1);
      }
    } else if (isObj(envList)) for (const [k, v] of Object.entries(envList)) env[k] = String(v);
    let redisHost = "";
    try {
      redisHost = env.REDIS_URL === undefined ? "" : new URL(env.REDIS_URL).hostname;
    } catch {
      redisHost = "";
    }
    if (redisHost !== redisName)
      fail(`compose ${name}: REDIS_URL must point at the ${String(redisName)} service`);

    const mounts = composeMounts(svc);
    const configPath = flagValue(commandList(svc.command), "--config") ?? env.WIF_BROKER_CONFIG;
    const cfgMount =
      configPath === undefined ? undefined : mounts.find((m) => m.bind && isUnder(configPath, m.target));
    if (configPath === undefined || !cfgMount) {
      fail(`compose ${name}: --config must name a bind-mounted config file`);
      continue;
    }
    const cfgFile = resolve(baseDir, cfgMount.source, posix.relative(cfgMount.target, configPath));
    configSources.add(cfgFile);
    if (!existsSync(cfgFile) || !statSync(cfgFile).isFile()) {
      fail(`compose ${name}: config file ${relative(ROOT, cfgFile)} does not exist`);
      continue;
    }
    const config = parseBrokerConfig(relative(ROOT, cfgFile), readFileSync(cfgFile, "utf8"), problems);
    if (!config) continue;
    const pMount = mounts.find((m) => m.bind && m.target === config.policies);
    if (!pMount) fail(`compose ${name}: policies ${config.policies} must be a bind-mounted folder`);
    else {
      const dir = resolve(baseDir, pMount.source);
      policySources.add(dir);
      const files = existsSync(dir)
        ? readdirSync(dir).filter((f) => /\.ya?ml$/.test(f) && !f.endsWith(".test.yaml"))
        : [];
      if (files.length === 0) fail(`compose ${name}: policies folder ${relative(ROOT, dir)} holds no policy`);
      for (const f of files) {
        parsePolicies(
          relative(ROOT, join(dir, f)),
          readFileSync(join(dir, f), "utf8"),
          config.providers,
          problems,
        );
      }
    }
    if (config.keysDir === undefined || !mounts.some((m) => m.target === config.keysDir)) {
      fail(`compose ${name}: signing.keysDir must be a mounted volume shared by the brokers`);
    }
  }
  const distinct = new Set(hostPorts);
  if (distinct.size !== hostPorts.length || [8081, 8082].some((p) => !distinct.has(p))) {
    fail(`compose: brokers must publish host ports 8081 and 8082 (are ${hostPorts.join(", ")})`);
  }
  if (brokers.length === 2 && (configSources.size !== 1 || policySources.size !== 1)) {
    fail("compose: both brokers must mount the same config file and the same policies folder");
  }
  return problems;
}

const DCLINT_RULES = [
  "no-duplicate-container-names",
  "no-duplicate-exported-ports",
  "no-quotes-in-volumes",
  "no-unbound-port-interfaces",
  "no-version-field",
  "require-project-name-field",
  "service-container-name-regex",
] as const;
const DCLINT_STYLE_RULES = [
  // Style or opinion: off. no-build-and-image: the services deliberately share one locally built image.
  "no-build-and-image",
  "require-quotes-in-ports",
  "service-dependencies-alphabetical-order",
  "service-image-require-explicit-tag", // does not see through YAML merge keys; checked above instead
  "service-keys-order",
  "service-ports-alphabetical-order",
  "services-alphabetical-order",
  "top-level-properties-order",
] as const;

function dclintProblems(file: string): string[] {
  const rules: Record<string, 0 | 2> = {};
  for (const r of DCLINT_STYLE_RULES) rules[r] = 0;
  for (const r of DCLINT_RULES) rules[r] = 2;
  const linter = new DCLinter({ rules, quiet: true, debug: false, exclude: [] });
  // dclint's published types do not resolve under nodenext: treat its result as data.
  const results: unknown = linter.lintFiles([file], false);
  return objs(results)
    .flatMap((r) => objs(r.messages))
    .map((msg) => `dclint ${String(msg.rule)} line ${String(msg.line)}: ${String(msg.message)}`);
}

// ---------------------------------------------------------------------------------------------------------
// Dockerfile

interface Instruction {
  keyword: string;
  args: string;
  line: number;
}
function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let buf = "";
  let start = 0;
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line.startsWith("#") || (buf === "" && line === "")) return;
    if (buf === "") start = i + 1;
    if (line.endsWith("\\")) {
      buf += `${line.slice(0, -1)} `;
      return;
    }
    buf += line;
    const m = /^(\S+)\s*(.*)$/s.exec(buf);
    if (m?.[1]) out.push({ keyword: m[1].toUpperCase(), args: (m[2] ?? "").trim(), line: start });
    buf = "";
  });
  return out;
}
function execForm(args: string): string[] | undefined {
  if (!args.startsWith("[")) return undefined;
  try {
    const v: unknown = JSON.parse(args);
    return Array.isArray(v) ? strings(v) : undefined;
  } catch {
    return undefined;
  }
}
/** .dockerignore matching for the plain patterns this repo uses (no negation). */
function dockerignored(patterns: readonly string[], path: string): boolean {
  const parts = path.split("/");
  return patterns.some((p) => {
    const pat = p.replace(/^\/+|\/+$/g, "");
    const re = new RegExp(
      `^${pat
        .split("**")
        .map((s) =>
          s
            .replace(/[.+^${}()|[\]\\]/g, "\\$&")
            .replace(/\*/g, "[^/]*")
            .replace(/\?/g, "[^/]"),
        )
        .join(".*")}$`,
    );
    return parts.some((_, i) => re.test(parts.slice(0, i + 1).join("/")));
  });
}

function dockerfileProblems(text: string, dockerignore: string): string[] {
  const problems: string[] = [];
  const fail = (msg: string): void => {
    problems.push(msg);
  };
  const ignore = dockerignore
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
  for (const must of ["node_modules", ".git", "keys", "dist"]) {
    if (!dockerignored(ignore, must)) fail(`.dockerignore must exclude ${must}`);
  }

  const instructions = parseDockerfile(text);
  const stages: Array<{ name: string | undefined; image: string; body: Instruction[] }> = [];
  for (const ins of instructions) {
    if (ins.keyword === "FROM") {
      const words = ins.args.split(/\s+/).filter((w) => !w.startsWith("--"));
      const asIndex = words.findIndex((w) => w.toUpperCase() === "AS");
      stages.push({ image: words[0] ?? "", name: asIndex >= 0 ? words[asIndex + 1] : undefined, body: [] });
    } else if (stages.length > 0) stages[stages.length - 1]?.body.push(ins);
    else if (ins.keyword !== "ARG") fail(`Dockerfile line ${ins.line}: ${ins.keyword} before the first FROM`);
  }
  if (stages.length < 2) fail("Dockerfile must be multi-stage (build stage + runtime stage)");
  const stageNames = new Set<string>();
  for (const s of stages) {
    if (!stageNames.has(s.image)) {
      if (!/^node:24([-.][\w.-]+)?$/.test(s.image))
        fail(`Dockerfile: FROM ${s.image} must be a node:24 image`);
      else if (imageProblem(s.image)) fail(`Dockerfile: FROM ${s.image} needs an explicit tag`);
    }
    if (s.name) stageNames.add(s.name);
  }

  const runs = instructions.filter((i) => i.keyword === "RUN").map((i) => i.args);
  for (const r of runs) {
    if (/\bnpm\s+(install|i|in|add|isntall)\b/.test(r))
      fail(`Dockerfile: "npm install" in RUN ${r} (use npm ci)`);
  }
  if (!runs.some((r) => /\bnpm\s+ci\b/.test(r)))
    fail("Dockerfile: dependencies must be installed with npm ci");
  if (!runs.some((r) => /\bnpm\s+run\s+build\b/.test(r))) fail("Dockerfile: npm run build missing");
  if (!runs.some((r) => /\bnpm\s+(prune|ci)\b[^&;]*--omit=dev/.test(r)))
    fail("Dockerfile: dev dependencies must be pruned");

  // Local COPY sources exist and survive .dockerignore; --from names an earlier stage.
  const finalStage = stages[stages.length - 1];
  for (const s of stages) {
    for (const ins of s.body.filter((i) => i.keyword === "COPY" || i.keyword === "ADD")) {
      const words = ins.args.split(/\s+/);
      const from = words.find((w) => w.startsWith("--from="))?.slice("--from=".length);
      const paths = execForm(ins.args) ?? words.filter((w) => !w.startsWith("--"));
      const sources = paths.slice(0, -1);
      if (ins.keyword === "ADD") fail(`Dockerfile line ${ins.line}: use COPY, not ADD`);
      if (from !== undefined) {
        if (!stageNames.has(from))
          fail(`Dockerfile line ${ins.line}: COPY --from=${from} is not an earlier stage`);
      } else {
        for (const src of sources) {
          if (!existsSync(join(ROOT, src)))
            fail(`Dockerfile line ${ins.line}: COPY source ${src} does not exist`);
          else if (dockerignored(ignore, src))
            fail(`Dockerfile line ${ins.line}: COPY source ${src} is excluded by .dockerignore`);
        }
      }
      if (s === finalStage) {
        for (const src of sources) {
          const base = posix.basename(src);
          if (!["dist", "node_modules", "package.json", "policies"].includes(base)) {
            fail(
              `Dockerfile: the final stage copies ${src}; only dist, node_modules, package.json and policies belong there`,
            );
          }
        }
      }
    }
  }

  const body = finalStage?.body ?? [];
  const last = (kw: string): Instruction | undefined => body.filter((i) => i.keyword === kw).pop();
  const user = last("USER")?.args.split(":")[0];
  if (user === undefined || user === "" || user === "0" || user === "root") {
    fail(`Dockerfile: the final stage must switch to a non-root USER (is ${String(user)})`);
  }
  const hc = last("HEALTHCHECK")?.args ?? "";
  if (!/\bCMD\b/.test(hc) || !hc.includes("/healthz") || /^NONE\b/.test(hc)) {
    fail("Dockerfile: the final stage needs a HEALTHCHECK CMD probing /healthz");
  }
  const hcCmd = /\bCMD\s+(.*)$/s.exec(hc)?.[1] ?? "";
  if (hcCmd.startsWith("[") && !execForm(hcCmd))
    fail("Dockerfile: HEALTHCHECK CMD exec form is not valid JSON");
  if (/\b(curl|wget)\b/.test(hc))
    fail("Dockerfile: HEALTHCHECK must not need curl or wget (absent from slim images)");
  if (!hc.includes(String(BROKER_PORT))) fail(`Dockerfile: HEALTHCHECK must probe port ${BROKER_PORT}`);
  const exposed = body.filter((i) => i.keyword === "EXPOSE").flatMap((i) => i.args.split(/\s+/));
  if (!exposed.some((p) => p === String(BROKER_PORT) || p === `${BROKER_PORT}/tcp`)) {
    fail(`Dockerfile: EXPOSE ${BROKER_PORT} missing in the final stage`);
  }
  const entrypoint = execForm(last("ENTRYPOINT")?.args ?? "");
  if (entrypoint?.[0] !== "node" || !entrypoint.includes("dist/cli/main.js")) {
    fail('Dockerfile: ENTRYPOINT must be the exec form ["node", "dist/cli/main.js"] (signals reach node)');
  }
  const cmd = execForm(last("CMD")?.args ?? "");
  if (cmd?.[0] !== "serve") fail('Dockerfile: CMD must be ["serve", …]');
  return problems;
}

// ---------------------------------------------------------------------------------------------------------
// Tests: the real files

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

describe("deploy/compose.yaml", () => {
  const { doc } = loadCompose();

  it("validates against the Compose Specification and the structural requirements", () => {
    assert.deepEqual(composeProblems(doc), []);
  });

  it("passes dclint's semantic rules", () => {
    assert.deepEqual(dclintProblems(join(DEPLOY, "compose.yaml")), []);
  });
});

describe("Dockerfile", () => {
  it("builds on Node 24, runs as non-root, has a HEALTHCHECK and installs with npm ci", () => {
    const text = readFileSync(join(ROOT, "Dockerfile"), "utf8");
    const ignore = readFileSync(join(ROOT, ".dockerignore"), "utf8");
    assert.deepEqual(dockerfileProblems(text, ignore), []);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Tests: every check can fail (one mutation each)

function doc(set: K8sSet, kind: string, name: string): Obj {
  const m = set.manifests.find((x) => kindOf(x) === kind && nameOf(x) === name);
  if (!m) throw new Error(`no ${kind}/${name}`);
  return m.doc;
}
function objAt(v: unknown, ...path: Array<string | number>): Obj {
  const o = at(v, ...path);
  if (!isObj(o)) throw new Error(`no object at ${path.join(".")}`);
  return o;
}
function put(o: Obj, key: string, value: unknown): void {
  o[key] = value;
}
function drop(o: Obj, key: string): void {
  delete o[key];
}
const brokerPod = (s: K8sSet): Obj => objAt(doc(s, "Deployment", "wif-broker"), "spec", "template", "spec");
const brokerContainer = (s: K8sSet): Obj => objAt(brokerPod(s), "containers", 0);
function setConfigMapKey(s: K8sSet, name: string, key: string, edit: (text: string) => string): void {
  const data = objAt(doc(s, "ConfigMap", name), "data");
  data[key] = edit(String(data[key]));
}

const k8sMutations: Array<[string, (s: K8sSet) => void, RegExp]> = [
  [
    "replicas 1",
    (s) => put(objAt(doc(s, "Deployment", "wif-broker"), "spec"), "replicas", 1),
    /replicas must be ≥ 2/,
  ],
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
  const pristine = loadK8sSet();
  for (const [name, mutate, expected] of k8sMutations) {
    it(name, () => {
      const s = clone(pristine);
      mutate(s);
      const problems = kubernetesProblems(s);
      assert.ok(
        problems.some((p) => expected.test(p)),
        `expected a problem matching ${expected}, got:\n${problems.join("\n")}`,
      );
    });
  }
});

function service(d: Obj, name: string): Obj {
  return objAt(d, "services", name);
}
const composeMutations: Array<[string, (d: Obj) => void, RegExp]> = [
  ["one broker", (d) => drop(objAt(d, "services"), "broker-2"), /exactly 2 broker services/],
  [
    "same host port",
    (d) => put(service(d, "broker-2"), "ports", ["127.0.0.1:8081:8080"]),
    /host ports 8081 and 8082/,
  ],
  [
    "unknown key",
    (d) => put(service(d, "broker-1"), "helthcheck", {}),
    /compose schema: \/services\/broker-1 additionalProperties/,
  ],
  [
    "wrong type",
    (d) => put(service(d, "redis"), "cap_drop", "ALL"),
    /compose schema: \/services\/redis\/cap_drop type/,
  ],
  [
    "depends_on started",
    (d) => put(objAt(service(d, "broker-1"), "depends_on", "redis"), "condition", "service_started"),
    /must wait for service_healthy/,
  ],
  [
    "depends_on unknown",
    (d) => {
      objAt(service(d, "broker-1"), "depends_on").postgres = { condition: "service_started" };
    },
    /depends_on postgres, which is not a service/,
  ],
  [
    "no broker healthcheck",
    (d) => drop(service(d, "broker-2"), "healthcheck"),
    /broker-2: healthcheck must probe/,
  ],
  [
    "no redis healthcheck",
    (d) => drop(service(d, "redis"), "healthcheck"),
    /redis service needs a healthcheck/,
  ],
  ["no redis", (d) => drop(objAt(d, "services"), "redis"), /exactly one redis service/],
  ["redis latest", (d) => put(service(d, "redis"), "image", "redis:latest"), /moving tag/],
  [
    "REDIS_URL",
    (d) => put(objAt(service(d, "broker-1"), "environment"), "REDIS_URL", "redis://localhost:6379"),
    /REDIS_URL must point at the redis service/,
  ],
  ["root user", (d) => put(service(d, "broker-1"), "user", "0:0"), /user must be a non-root uid/],
  [
    "different policies",
    (d) => {
      const vols = strings(service(d, "broker-2").volumes).map((v) =>
        v.replace("./compose/policies:", "../policies:"),
      );
      service(d, "broker-2").volumes = vols;
    },
    /same config file and the same policies folder|holds no policy/,
  ],
  [
    "missing bind source",
    (d) => {
      service(d, "broker-1").volumes = strings(service(d, "broker-1").volumes).map((v) =>
        v.replace("./compose/wif-broker.yaml", "./nope.yaml"),
      );
    },
    /bind source \.\/nope\.yaml does not exist/,
  ],
  ["undeclared volume", (d) => drop(d, "volumes"), /named volume signing-keys is not declared/],
  [
    "config not mounted",
    (d) => put(service(d, "broker-1"), "command", ["serve", "--config", "/srv/x.yaml"]),
    /--config must name a bind-mounted config file/,
  ],
  [
    "missing Dockerfile",
    (d) => put(objAt(service(d, "keygen"), "build"), "dockerfile", "Nope.Dockerfile"),
    /build Dockerfile Nope\.Dockerfile does not exist/,
  ],
];

describe("compose checks fail on a broken compose file", () => {
  const { doc: pristine, text } = loadCompose();
  for (const [name, mutate, expected] of composeMutations) {
    it(name, () => {
      const d = clone(pristine);
      mutate(d);
      const problems = composeProblems(d);
      assert.ok(
        problems.some((p) => expected.test(p)),
        `expected a problem matching ${expected}, got:\n${problems.join("\n")}`,
      );
    });
  }

  it("dclint: unbound host interface", () => {
    const dir = mkdtempSync(join(tmpdir(), "wif-compose-"));
    try {
      const file = join(dir, "compose.yaml");
      writeFileSync(file, text.replace('"127.0.0.1:8082:8080"', '"8082:8080"'));
      assert.ok(dclintProblems(file).some((p) => p.includes("no-unbound-port-interfaces")));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

const dockerMutations: Array<[string, (t: string) => string, RegExp, ((i: string) => string)?]> = [
  [
    "old Node",
    (t) => t.replace("FROM node:24-bookworm-slim AS runtime", "FROM node:22-bookworm-slim AS runtime"),
    /FROM node:22-bookworm-slim must be a node:24 image/,
  ],
  [
    "untagged base",
    (t) => t.replace("FROM node:24-bookworm-slim AS build", "FROM node AS build"),
    /must be a node:24 image/,
  ],
  ["single stage", (t) => t.slice(t.indexOf("FROM node:24-bookworm-slim AS runtime")), /multi-stage/],
  ["no USER", (t) => t.replace(/^USER .*$/m, ""), /non-root USER/],
  ["USER root", (t) => t.replace(/^USER .*$/m, "USER root"), /non-root USER \(is root\)/],
  [
    "no HEALTHCHECK",
    (t) => t.replace(/^HEALTHCHECK[\s\S]*?process\.exit\(1\)\)"\]\n/m, ""),
    /HEALTHCHECK CMD probing \/healthz/,
  ],
  [
    "curl HEALTHCHECK",
    (t) =>
      t.replace(
        /^HEALTHCHECK[\s\S]*?process\.exit\(1\)\)"\]\n/m,
        "HEALTHCHECK CMD curl -f http://127.0.0.1:8080/healthz\n",
      ),
    /must not need curl/,
  ],
  [
    "HEALTHCHECK not JSON",
    (t) => t.replace('process.exit(1))"]', "process.exit(1))]"),
    /HEALTHCHECK CMD exec form is not valid JSON/,
  ],
  ["npm install", (t) => t.replace("RUN npm ci --ignore-scripts", "RUN npm install"), /"npm install" in RUN/],
  [
    "npm i",
    (t) => t.replace("RUN npm ci --ignore-scripts", "RUN npm i --ignore-scripts"),
    /"npm install" in RUN/,
  ],
  [
    "no prune",
    (t) => t.replace("npm prune --omit=dev --ignore-scripts", "true"),
    /dev dependencies must be pruned/,
  ],
  ["EXPOSE", (t) => t.replace("EXPOSE 8080", "EXPOSE 3000"), /EXPOSE 8080 missing/],
  [
    "shell ENTRYPOINT",
    (t) => t.replace('ENTRYPOINT ["node", "dist/cli/main.js"]', "ENTRYPOINT node dist/cli/main.js"),
    /ENTRYPOINT must be the exec form/,
  ],
  ["CMD", (t) => t.replace('CMD ["serve"]', 'CMD ["dev"]'), /CMD must be \["serve"/],
  [
    "missing COPY source",
    (t) => t.replace("COPY src ./src", "COPY source ./src"),
    /COPY source source does not exist/,
  ],
  [
    "bad --from",
    (t) => t.replace("COPY --from=build /app/dist", "COPY --from=builder /app/dist"),
    /COPY --from=builder is not an earlier stage/,
  ],
  [
    "source in runtime",
    (t) => t.replace("COPY policies ./policies", "COPY policies ./policies\nCOPY src ./src"),
    /final stage copies src/,
  ],
  ["ignored COPY source", (t) => t, /COPY source src is excluded by \.dockerignore/, (i) => `${i}\nsrc\n`],
  [
    "node_modules in context",
    (t) => t,
    /\.dockerignore must exclude node_modules/,
    (i) => i.replace(/^node_modules$/m, ""),
  ],
];

describe("Dockerfile checks fail on a broken Dockerfile", () => {
  const text = readFileSync(join(ROOT, "Dockerfile"), "utf8");
  const ignore = readFileSync(join(ROOT, ".dockerignore"), "utf8");
  for (const [name, mutate, expected, mutateIgnore] of dockerMutations) {
    it(name, () => {
      const changed = mutate(text);
      const changedIgnore = mutateIgnore ? mutateIgnore(ignore) : ignore;
      assert.ok(changed !== text || changedIgnore !== ignore, "the mutation changed nothing");
      const problems = dockerfileProblems(changed, changedIgnore);
      assert.ok(
        problems.some((p) => expected.test(p)),
        `expected a problem matching ${expected}, got:\n${problems.join("\n")}`,
      );
    });
  }
});
