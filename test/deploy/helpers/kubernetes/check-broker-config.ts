import { posix } from "node:path";
import { type ParsedConfig, parseBrokerConfig, parsePolicies } from "../broker-config.ts";
import { flagValue, isUnder } from "../config-location.ts";
import type { Fail } from "../fail-into.ts";
import { at, isObj, type Obj, objs, str, strings } from "../yaml-access.ts";
import { type BrokerUnderCheck, redisUrlSecret } from "./broker-under-check.ts";
import { byName, where } from "./manifests.ts";

/** The deepest volume mount holding a container path. */
type MountOf = (path: string) => { mountPath: string; volume: Obj } | undefined;

/** REDIS_URL from a Secret, referenced volumes exist, whole-directory mounts, and the mounted config. */
export function checkBrokerConfig(b: BrokerUnderCheck, problems: string[], fail: Fail): void {
  const { bw, container } = b;
  const redisUrl = redisUrlSecret(b);
  if (!isObj(redisUrl.ref) || redisUrl.url === undefined) {
    fail(`${bw}: REDIS_URL must come from a secretKeyRef to a Secret (and key) in the set`);
  }

  // Volumes: referenced ConfigMaps/Secrets exist; whole-directory mounts only (hot reload).
  const volumes = new Map<string, Obj>();
  for (const v of objs(b.pod.volumes)) if (typeof v.name === "string") volumes.set(v.name, v);
  for (const [vName, v] of volumes) {
    const cm = str(at(v, "configMap", "name"));
    const sec = str(at(v, "secret", "secretName"));
    if (cm !== undefined && !byName(b.set, "ConfigMap", cm))
      fail(`${bw}: volume ${vName}: ConfigMap ${cm} does not exist`);
    if (sec !== undefined && !byName(b.set, "Secret", sec))
      fail(`${bw}: volume ${vName}: Secret ${sec} does not exist`);
  }
  const mounts = objs(container.volumeMounts);
  for (const mount of mounts) {
    if (mount.subPath !== undefined || mount.subPathExpr !== undefined) {
      fail(`${bw}: volumeMount ${String(mount.name)} uses subPath: ConfigMap/Secret updates never reach it`);
    }
    if (!volumes.has(str(mount.name) ?? "")) fail(`${bw}: volumeMount ${String(mount.name)} has no volume`);
  }
  const mountOf: MountOf = (path) => {
    const hits = mounts
      .map((mt) => ({ mountPath: str(mt.mountPath) ?? "", volume: volumes.get(str(mt.name) ?? "") }))
      .filter(
        (x): x is { mountPath: string; volume: Obj } => x.volume !== undefined && isUnder(path, x.mountPath),
      )
      .sort((a, b) => b.mountPath.length - a.mountPath.length);
    return hits[0];
  };

  const config = mountedConfig(b, mountOf, problems, fail);
  if (config) checkConfigMounts(b, config, mountOf, problems, fail);
}

/** The config file: --config (or WIF_BROKER_CONFIG) inside a ConfigMap mount that has that key. */
function mountedConfig(
  b: BrokerUnderCheck,
  mountOf: MountOf,
  problems: string[],
  fail: Fail,
): ParsedConfig | undefined {
  const { bw, container } = b;
  const env = objs(container.env);
  const args = [...strings(container.command), ...strings(container.args)];
  const configFlag = flagValue(args, "--config");
  const configEnv = str(env.find((e) => e.name === "WIF_BROKER_CONFIG")?.value);
  if (configFlag !== undefined && configEnv !== undefined && configFlag !== configEnv) {
    fail(`${bw}: --config ${configFlag} and WIF_BROKER_CONFIG ${configEnv} disagree`);
  }
  const configPath = configFlag ?? configEnv;
  if (configPath === undefined) {
    fail(`${bw}: --config (or WIF_BROKER_CONFIG) must name the mounted config file`);
    return undefined;
  }
  const mount = mountOf(configPath);
  const cmName = str(at(mount?.volume, "configMap", "name"));
  const cm = byName(b.set, "ConfigMap", cmName);
  const key = mount ? posix.relative(mount.mountPath, configPath) : "";
  const text = str(at(cm?.doc, "data", key));
  if (!mount || !cm || text === undefined) {
    fail(`${bw}: --config ${configPath} is not a key of a mounted ConfigMap`);
    return undefined;
  }
  return parseBrokerConfig(`ConfigMap ${String(cmName)} ${key}`, text, problems);
}

/** The config's policies folder is a mounted ConfigMap of valid policies; its keysDir a mounted Secret. */
function checkConfigMounts(
  b: BrokerUnderCheck,
  config: ParsedConfig,
  mountOf: MountOf,
  problems: string[],
  fail: Fail,
): void {
  const { bw } = b;
  const pMount = mountOf(config.policies);
  const pcm = byName(b.set, "ConfigMap", str(at(pMount?.volume, "configMap", "name")));
  if (!posix.isAbsolute(config.policies) || !pMount || !pcm) {
    fail(`${bw}: config policies path ${config.policies} must be a mounted ConfigMap directory`);
  } else {
    const names: string[] = [];
    const data = at(pcm.doc, "data");
    const entries = isObj(data) ? Object.entries(data) : [];
    if (entries.length === 0) fail(`${where(pcm)}: the policies ConfigMap holds no policy`);
    for (const [key, text] of entries) {
      if (!/\.ya?ml$/.test(key)) fail(`${where(pcm)}: key ${key} is not a .yaml file`);
      names.push(...parsePolicies(`${pcm.file} ${key}`, String(text), config.providers, problems));
    }
    if (new Set(names).size !== names.length) fail(`${where(pcm)}: policy names are not unique`);
  }
  const kMount = config.keysDir === undefined ? undefined : mountOf(config.keysDir);
  if (
    config.keysDir === undefined ||
    !kMount ||
    str(at(kMount.volume, "secret", "secretName")) === undefined
  ) {
    fail(
      `${bw}: config signing.keysDir ${String(config.keysDir)} must be a mounted Secret (shared keys for all replicas)`,
    );
  }
}
