import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { dumpYaml, loadYaml } from "@kubernetes/client-node";
import { Ajv, type ErrorObject } from "ajv";
import { DCLinter } from "dclint";
import { validate as deployment } from "kubernetes-models/_schemas/IoK8sApiAppsV1Deployment";
import { validate as hpa } from "kubernetes-models/_schemas/IoK8sApiAutoscalingV2HorizontalPodAutoscaler";
import { validate as configMap } from "kubernetes-models/_schemas/IoK8sApiCoreV1ConfigMap";
import { validate as namespace } from "kubernetes-models/_schemas/IoK8sApiCoreV1Namespace";
import { validate as secret } from "kubernetes-models/_schemas/IoK8sApiCoreV1Secret";
import { validate as service } from "kubernetes-models/_schemas/IoK8sApiCoreV1Service";
import { validate as serviceAccount } from "kubernetes-models/_schemas/IoK8sApiCoreV1ServiceAccount";
import { validate as networkPolicy } from "kubernetes-models/_schemas/IoK8sApiNetworkingV1NetworkPolicy";
import { validate as pdb } from "kubernetes-models/_schemas/IoK8sApiPolicyV1PodDisruptionBudget";
import { parse } from "yaml";
import type { Manifest } from "./artefacts.ts";

type Validate = ((data: unknown) => boolean) & { errors?: ErrorObject[] | null };

/** The Kubernetes OpenAPI schemas as compiled into kubernetes-models: types, required fields, enums, formats. */
const K8S_SCHEMAS: ReadonlyMap<string, Validate> = new Map<string, Validate>([
  ["v1/Namespace", namespace],
  ["v1/ServiceAccount", serviceAccount],
  ["v1/ConfigMap", configMap],
  ["v1/Secret", secret],
  ["v1/Service", service],
  ["apps/v1/Deployment", deployment],
  ["policy/v1/PodDisruptionBudget", pdb],
  ["autoscaling/v2/HorizontalPodAutoscaler", hpa],
  ["networking.k8s.io/v1/NetworkPolicy", networkPolicy],
]);

const errorLines = (errors: ErrorObject[] | null | undefined): string[] =>
  (errors ?? []).map((e) => `${e.instancePath || "/"} ${e.keyword} ${JSON.stringify(e.params)}`);

/** Paths present in `given` and missing from `kept`. */
function droppedPaths(given: unknown, kept: unknown, path: string): string[] {
  if (typeof given !== "object" || given === null) return [];
  return Object.entries(given).flatMap(([key, value]) => {
    const at = Array.isArray(given) ? `${path}[${key}]` : `${path}.${key}`;
    const other: unknown = typeof kept === "object" && kept !== null ? Reflect.get(kept, key) : undefined;
    return other === undefined ? [at] : droppedPaths(value, other, at);
  });
}

/**
 * Every object against its schema. The OpenAPI schemas allow unknown fields, so a typo such as `readinesProbe`
 * would pass them: the typed models of @kubernetes/client-node drop every field the API does not know, so what
 * a load/dump round trip through them loses is a misspelt or misplaced field.
 */
export function kubernetesSchemaProblems(manifests: readonly Manifest[]): string[] {
  return manifests.flatMap(({ file, doc }) => {
    const key = `${doc.apiVersion}/${doc.kind}`;
    const where = `${file} ${doc.kind}/${doc.metadata?.name}`;
    const validate = K8S_SCHEMAS.get(key);
    if (!validate) return [`${where}: no schema for ${key} (add it to K8S_SCHEMAS)`];
    const schema = validate(doc) ? [] : errorLines(validate.errors).map((e) => `${where}: schema: ${e}`);
    const kept: unknown = parse(dumpYaml(loadYaml(JSON.stringify(doc))));
    return [...schema, ...droppedPaths(doc, kept, "").map((p) => `${where}: unknown field ${p}`)];
  });
}

/** The Compose Specification JSON Schema that dclint ships, compiled by ajv. */
const validateCompose = (() => {
  const dir = dirname(fileURLToPath(import.meta.resolve("dclint/package.json")));
  const { $schema: _draft, ...schema } = JSON.parse(
    readFileSync(join(dir, "schemas", "compose.schema.json"), "utf8"),
  );
  return new Ajv({ allErrors: true, strict: false, allowUnionTypes: true }).compile(schema);
})();

export function composeSchemaProblems(doc: unknown): string[] {
  return validateCompose(doc) ? [] : errorLines(validateCompose.errors).map((e) => `compose schema: ${e}`);
}

/** dclint's semantic rules over a compose file; its style and ordering rules are opinions, left off. */
export function dclintProblems(file: string): string[] {
  const rules: Record<string, 0 | 2> = {
    "no-duplicate-container-names": 2,
    "no-duplicate-exported-ports": 2,
    "no-quotes-in-volumes": 2,
    "no-unbound-port-interfaces": 2,
    "no-version-field": 2,
    "require-project-name-field": 2,
    "service-container-name-regex": 2,
    // The brokers deliberately build and name one local image; image tags are checked by composeProblems,
    // which sees through YAML merge keys (dclint does not).
    "no-build-and-image": 0,
    "service-image-require-explicit-tag": 0,
    "require-quotes-in-ports": 0,
    "service-dependencies-alphabetical-order": 0,
    "service-keys-order": 0,
    "service-ports-alphabetical-order": 0,
    "services-alphabetical-order": 0,
    "top-level-properties-order": 0,
  };
  const linter = new DCLinter({ rules, quiet: true, debug: false, exclude: [] });
  // dclint's published types do not resolve under nodenext: its result is read as data.
  const results: Array<{ messages: Array<{ rule: string; line: number; message: string }> }> =
    linter.lintFiles([file], false);
  return results.flatMap((r) => r.messages.map((m) => `dclint ${m.rule} line ${m.line}: ${m.message}`));
}
