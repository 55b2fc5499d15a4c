import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { loadConfig } from "../config/load.ts";
import type { Config } from "../config/schema.ts";
import { DEFAULT_TTL_SECONDS, type DecisionLimits } from "../policy/evaluate.ts";
import { type CompileOptions, type CompileResult, compilePolicyFiles } from "../policy/parse.ts";
import { WELL_KNOWN_PROVIDER_NAMES } from "../policy/provider-names.ts";
import { providerFacts, readPolicyFiles } from "../runtime/policy-source.ts";
import { CliError } from "./shared.ts";

/** What every `policy` command resolves first: the config, the policy path, limits and provider names. */
export interface PolicyContext {
  config: Config;
  /** The default policy path (the config's `policies`). */
  path: string;
  limits: DecisionLimits;
  compileOptions: CompileOptions;
}

/**
 * The config `serve` would use (CONTRACT §6): `--config`, else WIF_BROKER_CONFIG, else ./wif-broker.yaml, else
 * the embedded default. Its `policies` is the default PATH and its providers are the known names; without a
 * config file the well-known platform names are known too, and any other name is an error.
 */
export function policyContext(
  pathArg: string | undefined,
  configPath: string | undefined,
  env: Readonly<Record<string, string | undefined>> = process.env,
): PolicyContext {
  const { config, source } = loadConfig({
    path: configPath,
    env: { WIF_BROKER_CONFIG: env.WIF_BROKER_CONFIG },
  });
  const embedded = source === "(embedded default)";
  const path = resolve(pathArg ?? config.policies);
  if (!existsSync(path)) throw new CliError(`${path}: no such file or directory`, 1);
  const maxTtl = config.limits.maxTtl;
  const providers = providerFacts(config);
  // Without a config file, a well-known platform name stands for itself (lint reads the platform from the name).
  if (embedded)
    for (const name of WELL_KNOWN_PROVIDER_NAMES)
      if (!providers.some((p) => p.name === name)) providers.push({ name });
  return {
    config,
    path,
    limits: {
      maxTtl,
      defaultTtl: Math.min(DEFAULT_TTL_SECONDS, maxTtl),
      maxDelegationDepth: config.limits.maxDelegationDepth,
    },
    compileOptions: {
      providers,
      unknownProviderHint: embedded
        ? "not a well-known platform name; name your providers with --config"
        : `not in ${source}`,
    },
  };
}

export function compileAt(path: string, ctx: PolicyContext): CompileResult {
  return compilePolicyFiles(readPolicyFiles(path), ctx.compileOptions);
}
