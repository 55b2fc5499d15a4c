import { imageName } from "../images.ts";
import { at, isObj, labelsOf, num, type Obj, objs, str } from "../yaml-access.ts";
import { type K8sSet, kindOf, type Manifest } from "./manifests.ts";

export interface Workload {
  m: Manifest;
  podSpec: Obj;
  podLabels: Record<string, string>;
  containers: Obj[];
}

/** The Deployments and StatefulSets of the set, with their pod templates unpacked. */
export function workloads(set: K8sSet): Workload[] {
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

/** The workload running a redis (or valkey) image. */
export function redisWorkload(all: readonly Workload[]): Workload | undefined {
  return all.find((w) => w.containers.some((c) => /^(redis|valkey)$/.test(imageName(str(c.image) ?? ""))));
}

/** The container port number a probe's or Service's port (number or name) refers to. */
export function resolvePort(port: unknown, container: Obj | undefined): number | undefined {
  if (typeof port === "number") return port;
  if (typeof port === "string") {
    const p = objs(container?.ports).find((x) => x.name === port);
    return num(p?.containerPort);
  }
  return undefined;
}

/** A Secret's value under `key`, from stringData or (base64) data. */
export function secretValue(secret: Manifest | undefined, key: string): string | undefined {
  if (!secret) return undefined;
  const plain = str(at(secret.doc, "stringData", key));
  if (plain !== undefined) return plain;
  const b64 = str(at(secret.doc, "data", key));
  return b64 === undefined ? undefined : Buffer.from(b64, "base64").toString("utf8");
}
