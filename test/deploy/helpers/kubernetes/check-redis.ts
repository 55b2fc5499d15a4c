import type { Fail } from "../fail-into.ts";
import { at, num, objs, selects } from "../yaml-access.ts";
import { type BrokerUnderCheck, redisUrlSecret } from "./broker-under-check.ts";
import { nameOf, ofKind } from "./manifests.ts";
import { redisWorkload } from "./workloads.ts";

/** Redis: a workload, a Service in front of it, and REDIS_URL pointing there. */
export function checkRedis(b: BrokerUnderCheck, fail: Fail): void {
  const redis = redisWorkload(b.all);
  const redisSvc = redis
    ? ofKind(b.set, "Service").find((s) => selects(at(s.doc, "spec", "selector"), redis.podLabels))
    : undefined;
  if (!redis || !redisSvc) {
    fail("a Redis Deployment/StatefulSet and a Service selecting it are required");
    return;
  }
  const { url } = redisUrlSecret(b);
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
    fail(`REDIS_URL host/port ${host}:${port} must be the Redis Service ${svcName} (${svcPorts.join(",")})`);
  }
}
