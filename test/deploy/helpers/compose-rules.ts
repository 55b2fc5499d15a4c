import { existsSync, readFileSync, statSync } from "node:fs";
import { posix, relative, resolve } from "node:path";
import { readPolicyFiles } from "../../../src/runtime/policy-source.ts";
import { BROKER_IMAGE, BROKER_PORT, type Compose, type ComposeService, DEPLOY, ROOT } from "./artefacts.ts";
import { checkShippedPolicies, flagValue, isUnder, loadShippedConfig } from "./broker-files.ts";
import { type Fail, imageName, imageProblem, NODE_OPTIONS_FLAG, secretLiteral } from "./shared-rules.ts";
import { composeSchemaProblems } from "./validators.ts";

const words = (v: string | string[] | undefined): string[] =>
  typeof v === "string" ? v.split(/\s+/).filter(Boolean) : (v ?? []);

function environment(svc: ComposeService): Record<string, string> {
  const env = svc.environment ?? {};
  if (!Array.isArray(env))
    return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v ?? "")]));
  return Object.fromEntries(env.map((e) => [e.split("=")[0] ?? "", e.slice(e.indexOf("=") + 1)]));
}

function mounts(svc: ComposeService): Array<{ source: string; target: string; bind: boolean }> {
  return (svc.volumes ?? []).map((v) => {
    if (typeof v !== "string")
      return { source: v.source ?? "", target: v.target ?? "", bind: v.type === "bind" };
    const [source = "", target = ""] = v.split(":");
    return { source, target, bind: /^[./~]/.test(source) };
  });
}

/** Every problem of deploy/compose.yaml: the Compose Specification, then the rules; none for the shipped file. */
export function composeProblems(doc: Compose, baseDir: string = DEPLOY): string[] {
  const problems = composeSchemaProblems(doc);
  const fail: Fail = (p) => problems.push(`compose ${p}`);
  const services = Object.entries(doc.services ?? {});
  for (const [name, svc] of services) {
    const problem = svc.image === undefined ? undefined : imageProblem(svc.image);
    if (problem) fail(`${name}: ${problem}`);
    for (const [key, value] of Object.entries(environment(svc))) {
      const secret = secretLiteral(key, value);
      if (secret) fail(`${name}: environment ${secret}`);
    }
  }
  const redis = services.find(([, s]) => ["redis", "valkey"].includes(imageName(s.image ?? "")))?.[0];
  const brokers = services.filter(
    ([, s]) =>
      imageName(s.image ?? "") === BROKER_IMAGE &&
      s.entrypoint === undefined &&
      words(s.command).includes("serve"),
  );
  if (brokers.length === 0) fail(`no service runs ${BROKER_IMAGE} serve`);
  for (const [name, svc] of brokers) checkBroker(`${name}:`, svc, redis, baseDir, fail);
  return problems;
}

/** A broker service runs like the Kubernetes pod, and its mounted config and policies load with the real loader. */
function checkBroker(
  where: string,
  svc: ComposeService,
  redis: string | undefined,
  baseDir: string,
  fail: Fail,
): void {
  if (svc.user === undefined || /^(0|root)(:|$)/.test(svc.user)) fail(`${where} user must be a non-root uid`);
  if (svc.read_only !== true) fail(`${where} read_only must be true`);
  if (!svc.cap_drop?.includes("ALL")) fail(`${where} cap_drop must be [ALL]`);
  const probe = words(svc.healthcheck?.test).join(" ");
  if (svc.healthcheck?.disable === true || !probe.includes(`:${BROKER_PORT}/healthz`))
    fail(`${where} healthcheck must probe /healthz on port ${BROKER_PORT}`);
  const targets = (svc.ports ?? []).map((p) =>
    typeof p === "object" ? p.target : Number(String(p).split(":").at(-1)),
  );
  if (!targets.includes(BROKER_PORT)) fail(`${where} must publish container port ${BROKER_PORT}`);
  const dependsOn = Array.isArray(svc.depends_on) ? {} : (svc.depends_on ?? {});
  if (redis === undefined || dependsOn[redis]?.condition !== "service_healthy")
    fail(`${where} depends_on the redis service must wait for service_healthy`);
  const env = environment(svc);
  const redisUrl =
    env.REDIS_URL !== undefined && URL.canParse(env.REDIS_URL) ? new URL(env.REDIS_URL) : undefined;
  if (redisUrl?.hostname !== redis) fail(`${where} REDIS_URL must point at the ${redis} service`);
  if (env.NODE_OPTIONS !== undefined && !env.NODE_OPTIONS.includes(NODE_OPTIONS_FLAG))
    fail(`${where} NODE_OPTIONS replaces the image's ${NODE_OPTIONS_FLAG}`);

  const mounted = mounts(svc);
  const hostPath = (path: string, bindOnly: boolean) => {
    const m = mounted.find((x) => (x.bind || !bindOnly) && isUnder(path, x.target));
    return m && (m.bind ? resolve(baseDir, m.source, posix.relative(m.target, path)) : m.source);
  };
  const configPath = flagValue(words(svc.command), "--config") ?? env.WIF_BROKER_CONFIG;
  const configFile = configPath === undefined ? undefined : hostPath(configPath, true);
  if (configPath === undefined || !configFile || !existsSync(configFile) || !statSync(configFile).isFile()) {
    fail(`${where} --config ${configPath} must name a bind-mounted file that exists`);
    return;
  }
  const config = loadShippedConfig(
    relative(ROOT, configFile),
    readFileSync(configFile, "utf8"),
    configPath,
    env,
    fail,
  );
  if (!config) return;
  const policyDir = hostPath(config.policies, true);
  if (!policyDir || !existsSync(policyDir))
    fail(`${where} policies ${config.policies} must be a bind-mounted folder`);
  else checkShippedPolicies(relative(ROOT, policyDir), readPolicyFiles(policyDir), config, fail);
  // Every broker must sign with the same keys: a volume they share, never an ephemeral per-container key.
  if (config.signing.keysDir === undefined || !hostPath(config.signing.keysDir, false))
    fail(`${where} signing.keysDir must be a mounted volume`);
}
