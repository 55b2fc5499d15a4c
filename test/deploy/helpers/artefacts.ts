import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { IDeployment } from "kubernetes-models/apps/v1";
import type { IHorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2";
import type { INetworkPolicy } from "kubernetes-models/networking.k8s.io/v1";
import type { IPodDisruptionBudget } from "kubernetes-models/policy/v1";
import type { IConfigMap, INamespace, ISecret, IService, IServiceAccount } from "kubernetes-models/v1";
import { parse, parseAllDocuments } from "yaml";

/** Where the deployment artefacts live, and what every one of them must agree on with the broker. */
export const ROOT = resolve(import.meta.dirname, "../../..");
export const DEPLOY = join(ROOT, "deploy");
export const K8S_DIR = join(DEPLOY, "kubernetes");
/** The config schema's default `listen.port`: the image EXPOSEs it, probes and Services reach it. */
export const BROKER_PORT = 8080;
export const BROKER_IMAGE = "wif-broker";

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string };
  [field: string]: unknown;
}
export interface Manifest {
  file: string;
  doc: KubeObject;
}
export interface Kustomization {
  namespace?: string;
  resources?: string[];
  images?: Array<{ name?: string; newName?: string; newTag?: string }>;
}
export interface ComposeService {
  image?: string;
  user?: string;
  read_only?: boolean;
  cap_drop?: string[];
  command?: string | string[];
  entrypoint?: string | string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  ports?: Array<string | number | { target?: number; published?: string | number }>;
  volumes?: Array<string | { type?: string; source?: string; target?: string }>;
  healthcheck?: { test?: string | string[]; disable?: boolean };
  depends_on?: string[] | Record<string, { condition?: string }>;
}
export interface Compose {
  services?: Record<string, ComposeService>;
}

/** Everything under test, parsed; each check takes this (the broken-variant test edits a copy). */
export interface Artefacts {
  dockerfile: string;
  dockerignore: string;
  kubernetes: Manifest[];
  /** deploy/kubernetes/*.yaml other than kustomization.yaml. */
  k8sFiles: string[];
  kustomization: Kustomization;
  compose: Compose;
}

function yamlDocuments(file: string, text: string): KubeObject[] {
  return parseAllDocuments(text).flatMap((d) => {
    if (d.errors.length > 0) throw new Error(`${file}: ${d.errors.map((e) => e.message).join("; ")}`);
    const value: unknown = d.toJS();
    return value === null ? [] : [value as KubeObject];
  });
}

export function loadArtefacts(): Artefacts {
  const read = (...path: string[]) => readFileSync(join(...path), "utf8");
  const k8sFiles = readdirSync(K8S_DIR)
    .filter((f) => /\.ya?ml$/.test(f) && f !== "kustomization.yaml")
    .sort();
  return {
    dockerfile: read(ROOT, "Dockerfile"),
    dockerignore: read(ROOT, ".dockerignore"),
    kubernetes: k8sFiles.flatMap((file) =>
      yamlDocuments(file, read(K8S_DIR, file)).map((doc) => ({ file, doc })),
    ),
    k8sFiles,
    kustomization: parse(read(K8S_DIR, "kustomization.yaml")),
    // The typed views below hold once the Compose Specification schema passes (validators.ts).
    compose: parse(read(DEPLOY, "compose.yaml"), { merge: true }),
  };
}

interface Kinds {
  Namespace: INamespace;
  ServiceAccount: IServiceAccount;
  ConfigMap: IConfigMap;
  Secret: ISecret;
  Service: IService;
  Deployment: IDeployment;
  PodDisruptionBudget: IPodDisruptionBudget;
  HorizontalPodAutoscaler: IHorizontalPodAutoscaler;
  NetworkPolicy: INetworkPolicy;
}

/** The objects of one kind, typed: true once they pass the Kubernetes schemas (validators.ts). */
export function ofKind<K extends keyof Kinds>(set: readonly Manifest[], kind: K): Array<Kinds[K]> {
  return set.filter((m) => m.doc.kind === kind).map((m) => m.doc as unknown as Kinds[K]);
}
export function named<K extends keyof Kinds>(
  set: readonly Manifest[],
  kind: K,
  name: string | undefined,
): Kinds[K] | undefined {
  return ofKind(set, kind).find((o) => name !== undefined && o.metadata?.name === name);
}
