import { BROKER_IMAGE } from "../deploy-layout.ts";
import type { Fail } from "../fail-into.ts";
import { imageName } from "../images.ts";
import { at, num, type Obj, objs, str } from "../yaml-access.ts";
import { byName, type K8sSet, kindOf, type Manifest, nameOf, where } from "./manifests.ts";
import { secretValue, type Workload } from "./workloads.ts";

/** The broker Deployment and what the structural checks read from it. */
export interface BrokerUnderCheck {
  set: K8sSet;
  /** Every Deployment and StatefulSet of the set. */
  all: Workload[];
  broker: Workload;
  /** Where the broker Deployment is, for messages. */
  bw: string;
  pod: Obj;
  podLabels: Record<string, string>;
  container: Obj;
  deploymentName: string;
  replicas: number | undefined;
}

const runsBroker = (c: Obj) => imageName(str(c.image) ?? "") === BROKER_IMAGE;

/** The one Deployment running the broker image, or a problem saying how many there are. */
export function findBroker(set: K8sSet, all: Workload[], fail: Fail): BrokerUnderCheck | undefined {
  const brokers = all.filter((w) => kindOf(w.m) === "Deployment" && w.containers.some(runsBroker));
  if (brokers.length !== 1) {
    fail(`exactly one Deployment running the ${BROKER_IMAGE} image expected, found ${brokers.length}`);
    return undefined;
  }
  const broker = brokers[0] as Workload;
  return {
    set,
    all,
    broker,
    bw: where(broker.m),
    pod: broker.podSpec,
    podLabels: broker.podLabels,
    container: broker.containers.find(runsBroker) as Obj,
    deploymentName: nameOf(broker.m),
    replicas: num(at(broker.m.doc, "spec", "replicas")),
  };
}

/** The Secret and key the broker's REDIS_URL comes from (secretKeyRef), and its value. */
export function redisUrlSecret(b: BrokerUnderCheck): {
  ref: unknown;
  secret: Manifest | undefined;
  key: string | undefined;
  url: string | undefined;
} {
  const redisEnv = objs(b.container.env).find((e) => e.name === "REDIS_URL");
  const ref = at(redisEnv, "valueFrom", "secretKeyRef");
  const secret = byName(b.set, "Secret", str(at(ref, "name")));
  const key = str(at(ref, "key"));
  return { ref, secret, key, url: secret && key !== undefined ? secretValue(secret, key) : undefined };
}
