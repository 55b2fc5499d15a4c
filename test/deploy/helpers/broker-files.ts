import { posix } from "node:path";
import { ConfigError, parseConfig } from "../../../src/config/load.ts";
import type { Config } from "../../../src/config/schema.ts";
import { compilePolicyFiles, formatProblem, type PolicyFile } from "../../../src/policy/parse.ts";
import { providerFacts } from "../../../src/runtime/policy-source.ts";
import { parseYaml, YamlError } from "../../../src/util/yaml.ts";
import { BROKER_PORT } from "./artefacts.ts";
import type { Fail } from "./shared-rules.ts";

/**
 * A shipped wif-broker.yaml through the broker's own loader (CONTRACT §4: unknown keys, types, provider rules),
 * with the PORT and REDIS_URL the container sets; it must listen where the image and the probes expect it.
 */
export function loadShippedConfig(
  label: string,
  text: string,
  containerPath: string,
  env: Readonly<Record<string, string | undefined>>,
  fail: Fail,
): Config | undefined {
  try {
    const config = parseConfig(parseYaml(text), label, posix.dirname(containerPath), env);
    if (config.listen.port !== BROKER_PORT)
      fail(`${label}: listens on ${config.listen.port}, not ${BROKER_PORT}`);
    return config;
  } catch (e) {
    if (!(e instanceof ConfigError || e instanceof YamlError)) throw e;
    fail(e instanceof ConfigError ? e.message : `${label}: ${e.message}`); // a ConfigError names the file
    return undefined;
  }
}

/** Shipped policies through the broker's own compiler and lint, against the config's providers (CONTRACT §5). */
export function checkShippedPolicies(
  where: string,
  files: readonly PolicyFile[],
  config: Config,
  fail: Fail,
): void {
  if (files.length === 0) fail(`${where}: holds no policy`);
  for (const p of compilePolicyFiles(files, { providers: providerFacts(config) }).problems)
    fail(formatProblem(p));
}

/** `--flag VALUE` or `--flag=VALUE` in an argument list. */
export function flagValue(args: readonly string[], flag: string): string | undefined {
  const i = args.findIndex((a) => a === flag || a.startsWith(`${flag}=`));
  return i < 0 ? undefined : args[i] === flag ? args[i + 1] : args[i]?.slice(flag.length + 1);
}

/** Is the container path `path` at or below the mount point `dir`? */
export function isUnder(path: string, dir: string): boolean {
  const rel = posix.relative(dir, path);
  return rel === "" || (!rel.startsWith("..") && !posix.isAbsolute(rel));
}
