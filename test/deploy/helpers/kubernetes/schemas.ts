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
import { objs, str } from "../yaml-access.ts";
import { kindOf, type Manifest, where } from "./manifests.ts";
import { clientModelName, unknownFields } from "./unknown-fields.ts";

/** Kubernetes OpenAPI schemas as compiled into kubernetes-models: types, required fields, enums, formats. */

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

/** Every manifest against its schema, then for fields no model knows. */
export function schemaProblems(manifests: readonly Manifest[]): string[] {
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
