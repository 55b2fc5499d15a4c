import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, posix, relative, resolve } from "node:path";
import { type ParsedConfig, parseBrokerConfig, parsePolicies } from "../broker-config.ts";
import { flagValue, isUnder } from "../config-location.ts";
import { BROKER_PORT, ROOT } from "../deploy-layout.ts";
import { failInto } from "../fail-into.ts";
import { at, isObj, type Obj } from "../yaml-access.ts";
import { commandList, composeMounts, environmentOf, type Mount, publishedPorts } from "./load.ts";

/** What the brokers must share, collected while each is checked. */
export interface BrokerSharing {
  hostPorts: number[];
  configSources: Set<string>;
  policySources: Set<string>;
}

interface BrokerServiceCheck {
  name: string;
  svc: Obj;
  redisName: string | undefined;
  baseDir: string;
  shared: BrokerSharing;
  problems: string[];
}

/** One broker service: waits for Redis, healthchecked, published once, non-root, and its config mounted. */
export function checkBrokerService(c: BrokerServiceCheck): void {
  const { name, svc, redisName } = c;
  const fail = failInto(c.problems);
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
  const toBroker = publishedPorts(svc).filter(([, target]) => target === BROKER_PORT);
  if (toBroker.length !== 1) fail(`compose ${name}: must publish container port ${BROKER_PORT} exactly once`);
  for (const [host] of toBroker) c.shared.hostPorts.push(host);

  const user = String(svc.user ?? "");
  if (user === "" || /^(0|root)(:|$)/.test(user)) fail(`compose ${name}: user must be a non-root uid`);

  const env = environmentOf(svc);
  let redisHost = "";
  try {
    redisHost = env.REDIS_URL === undefined ? "" : new URL(env.REDIS_URL).hostname;
  } catch {
    redisHost = "";
  }
  if (redisHost !== redisName)
    fail(`compose ${name}: REDIS_URL must point at the ${String(redisName)} service`);

  const mounts = composeMounts(svc);
  const config = mountedConfig(
    c,
    mounts,
    flagValue(commandList(svc.command), "--config") ?? env.WIF_BROKER_CONFIG,
  );
  if (config) checkConfigMounts(c, mounts, config);
}

/** --config names a bind-mounted file that exists and is a valid config. */
function mountedConfig(
  c: BrokerServiceCheck,
  mounts: Mount[],
  configPath: string | undefined,
): ParsedConfig | undefined {
  const fail = failInto(c.problems);
  const cfgMount =
    configPath === undefined ? undefined : mounts.find((m) => m.bind && isUnder(configPath, m.target));
  if (configPath === undefined || !cfgMount) {
    fail(`compose ${c.name}: --config must name a bind-mounted config file`);
    return undefined;
  }
  const cfgFile = resolve(c.baseDir, cfgMount.source, posix.relative(cfgMount.target, configPath));
  c.shared.configSources.add(cfgFile);
  if (!existsSync(cfgFile) || !statSync(cfgFile).isFile()) {
    fail(`compose ${c.name}: config file ${relative(ROOT, cfgFile)} does not exist`);
    return undefined;
  }
  return parseBrokerConfig(relative(ROOT, cfgFile), readFileSync(cfgFile, "utf8"), c.problems);
}

/** The config's policies are a bind-mounted folder of valid policies; its keysDir a mounted volume. */
function checkConfigMounts(c: BrokerServiceCheck, mounts: Mount[], config: ParsedConfig): void {
  const fail = failInto(c.problems);
  const pMount = mounts.find((m) => m.bind && m.target === config.policies);
  if (!pMount) fail(`compose ${c.name}: policies ${config.policies} must be a bind-mounted folder`);
  else {
    const dir = resolve(c.baseDir, pMount.source);
    c.shared.policySources.add(dir);
    const files = existsSync(dir)
      ? readdirSync(dir).filter((f) => /\.ya?ml$/.test(f) && !f.endsWith(".test.yaml"))
      : [];
    if (files.length === 0) fail(`compose ${c.name}: policies folder ${relative(ROOT, dir)} holds no policy`);
    for (const f of files) {
      parsePolicies(
        relative(ROOT, join(dir, f)),
        readFileSync(join(dir, f), "utf8"),
        config.providers,
        c.problems,
      );
    }
  }
  if (config.keysDir === undefined || !mounts.some((m) => m.target === config.keysDir)) {
    fail(`compose ${c.name}: signing.keysDir must be a mounted volume shared by the brokers`);
  }
}
