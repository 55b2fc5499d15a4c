import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { formatPath } from "../util/format-path.ts";
import { parseYaml, YamlError } from "../util/yaml.ts";
import { type Config, configSchema } from "./schema.ts";

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** The package root (where the shipped example `policies/` live), from src/config or dist/config. */
export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

/**
 * The embedded default: in-memory store, an ephemeral dev key, the shipped example policies and the public
 * issuers those policies name. Nothing is fetched until a token of one of these issuers arrives.
 */
export const EMBEDDED_DEFAULT = {
  issuer: "http://127.0.0.1:8080",
  policies: resolve(PACKAGE_ROOT, "policies"),
  providers: [
    { name: "github", issuer: "https://token.actions.githubusercontent.com" },
    { name: "gitlab", issuer: "https://gitlab.com" },
    { name: "google", issuer: "https://accounts.google.com" },
    { name: "prod-cluster", issuer: "https://oidc.prod-cluster.example.com" },
  ],
};

export interface LoadedConfig {
  config: Config;
  /** The file it came from, or "(embedded default)". */
  source: string;
}

export interface LoadOptions {
  /** `--config`; else WIF_BROKER_CONFIG; else ./wif-broker.yaml when present; else the embedded default. */
  path?: string | undefined;
  env?: Readonly<Record<string, string | undefined>>;
  cwd?: string;
}

const isLoopback = (host: string) =>
  host === "localhost" || host === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);

/** Validates a config value, naming the file, the path inside it and what is wrong (CONTRACT §4). */
export function parseConfig(
  value: unknown,
  source: string,
  baseDir: string,
  env: LoadOptions["env"] = {},
): Config {
  const parsed = configSchema.safeParse(value ?? {});
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${source}: ${formatPath(i.path)}: ${i.message}`);
    throw new ConfigError(lines.join("\n"));
  }
  const config = parsed.data;
  const names = new Set<string>();
  const issuers = new Set<string>();
  config.providers.forEach((p, i) => {
    if (names.has(p.name))
      throw new ConfigError(`${source}: providers[${i}].name: "${p.name}" is listed twice`);
    if (issuers.has(p.issuer))
      throw new ConfigError(`${source}: providers[${i}].issuer: issuer is listed twice`);
    names.add(p.name);
    issuers.add(p.issuer);
    // CONTRACT §4: plain http only for loopback test issuers, and only when allowInsecureHttp says so.
    for (const [field, url] of [
      ["issuer", p.issuer],
      ["jwksUri", p.jwksUri],
    ] as const) {
      if (url === undefined) continue;
      const u = new URL(url);
      if (u.protocol === "http:" && !p.allowInsecureHttp) {
        throw new ConfigError(
          `${source}: providers[${i}].${field}: http:// needs allowInsecureHttp: true (loopback test issuers only)`,
        );
      }
      if (p.allowInsecureHttp && !isLoopback(u.hostname)) {
        throw new ConfigError(
          `${source}: providers[${i}].allowInsecureHttp: only for loopback issuers, not ${u.hostname}`,
        );
      }
    }
  });
  if (env.PORT !== undefined) {
    const port = Number(env.PORT);
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new ConfigError(`PORT: "${env.PORT}" is not a port number`);
    config.listen.port = port;
  }
  if (env.REDIS_URL) config.store.redis = env.REDIS_URL;
  config.policies = resolve(baseDir, config.policies);
  if (config.signing.keysDir !== undefined) config.signing.keysDir = resolve(baseDir, config.signing.keysDir);
  const github = config.targets.github;
  if (github?.privateKeyFile !== undefined) github.privateKeyFile = resolve(baseDir, github.privateKeyFile);
  return config;
}

export function loadConfig(options: LoadOptions = {}): LoadedConfig {
  const env = options.env ?? {};
  const cwd = options.cwd ?? process.cwd();
  const explicit = options.path ?? env.WIF_BROKER_CONFIG;
  const path = explicit ?? (existsSync(resolve(cwd, "wif-broker.yaml")) ? "wif-broker.yaml" : undefined);
  if (path === undefined) {
    return {
      config: parseConfig(EMBEDDED_DEFAULT, "(embedded default)", cwd, env),
      source: "(embedded default)",
    };
  }
  const file = resolve(cwd, path);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    throw new ConfigError(`${file}: cannot be read`);
  }
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (e) {
    if (!(e instanceof YamlError)) throw e;
    throw new ConfigError(`${file}: ${e.path ?? `line ${e.line ?? "?"}`}: ${e.message}`);
  }
  return { config: parseConfig(value, file, dirname(file), env), source: file };
}
