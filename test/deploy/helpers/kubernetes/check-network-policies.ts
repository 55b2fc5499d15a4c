import { BROKER_PORT } from "../deploy-layout.ts";
import type { Fail } from "../fail-into.ts";
import { at, type Obj, objs, selects, strings } from "../yaml-access.ts";
import type { BrokerUnderCheck } from "./broker-under-check.ts";
import { type Manifest, ofKind, where } from "./manifests.ts";
import { redisWorkload, resolvePort, type Workload } from "./workloads.ts";

/** NetworkPolicies: the broker takes 8080 and reaches Redis, DNS and 443 only; Redis admits the broker only. */
export function checkNetworkPolicies(b: BrokerUnderCheck, fail: Fail): void {
  const nps = ofKind(b.set, "NetworkPolicy");
  const redis = redisWorkload(b.all);
  const brokerNp = nps.find((n) => selects(at(n.doc, "spec", "podSelector", "matchLabels"), b.podLabels));
  if (!brokerNp) fail("no NetworkPolicy selects the broker pods");
  else checkBrokerPolicy(b, brokerNp, redis, fail);
  if (redis) {
    const redisNp = nps.find((n) =>
      selects(at(n.doc, "spec", "podSelector", "matchLabels"), redis.podLabels),
    );
    const from = objs(at(redisNp?.doc, "spec", "ingress")).flatMap((r) => objs(r.from));
    if (
      !redisNp ||
      from.length === 0 ||
      !from.every((f) => selects(at(f, "podSelector", "matchLabels"), b.podLabels))
    ) {
      fail("a redis NetworkPolicy must admit ingress from the broker pods only");
    }
  }
}

function checkBrokerPolicy(
  b: BrokerUnderCheck,
  brokerNp: Manifest,
  redis: Workload | undefined,
  fail: Fail,
): void {
  const w = where(brokerNp);
  const types = strings(at(brokerNp.doc, "spec", "policyTypes"));
  if (!types.includes("Ingress") || !types.includes("Egress"))
    fail(`${w}: NetworkPolicy policyTypes must be Ingress and Egress`);
  const ingress = objs(at(brokerNp.doc, "spec", "ingress"));
  if (ingress.length === 0) fail(`${w}: NetworkPolicy must allow ingress to ${BROKER_PORT}`);
  for (const rule of ingress) {
    const ports = objs(rule.ports);
    if (ports.length === 0 || ports.some((p) => resolvePort(p.port, b.container) !== BROKER_PORT)) {
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
