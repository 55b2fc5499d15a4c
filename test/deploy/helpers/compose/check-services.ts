import { existsSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { ROOT } from "../deploy-layout.ts";
import type { Fail } from "../fail-into.ts";
import { imageName, imageProblem } from "../images.ts";
import { at, isObj, list, type Obj, str, strings } from "../yaml-access.ts";
import { composeMounts } from "./load.ts";

/** Every service: an image (pinned) or a build whose Dockerfile exists, known dependencies, existing mounts. */
export function checkServices(
  doc: Obj,
  entries: ReadonlyArray<[string, Obj]>,
  baseDir: string,
  fail: Fail,
): void {
  const services = isObj(doc.services) ? doc.services : {};
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
}

/** Exactly one redis service, with a healthcheck; returns its name. */
export function checkRedisService(entries: ReadonlyArray<[string, Obj]>, fail: Fail): string | undefined {
  const redis = entries.filter(([, s]) => /^(redis|valkey)$/.test(imageName(str(s.image) ?? "")));
  if (redis.length !== 1) fail(`compose: exactly one redis service expected, found ${redis.length}`);
  const redisHc = at(redis[0]?.[1], "healthcheck");
  if (!isObj(redisHc) || redisHc.disable === true || list(redisHc.test).length === 0) {
    fail("compose: the redis service needs a healthcheck (brokers wait for service_healthy)");
  }
  return redis[0]?.[0];
}
