import { USAGE as EXCHANGE_USAGE } from "./exchange/usage.ts";

/**
 * `--help` for every command and subcommand (CONTRACT §6): usage on stdout, starting `Usage: wif-broker …`,
 * exit 0. Keys are the command words; `helpFor` falls back to the nearest parent (a subcommand without its own
 * entry shows its command's usage).
 */
const CONFIG_LINE =
  "Config: --config F, or WIF_BROKER_CONFIG, or ./wif-broker.yaml, else the embedded default.";

/** A usage text, or a loader for one that lives beside a heavy command (kept out of `exchange`'s start-up). */
type Usage = string | (() => Promise<string>);

export const USAGES: Record<string, Usage> = {
  "": `Usage: wif-broker <command> [options]     (wif-broker <command> --help for each)

Commands:
  serve [--config F]                             run the service
  dev [--port N]                                 service + a loopback demo issuer; prints a ready-to-run exchange
  keys generate --dir D [--alg ES256]            write a new signing key
  keys rotate --dir D [--alg ES256] [--activate-in 1h]
                                                 stage the next signing key
  policy validate|test|explain|diff|schema       check, test, explain and compare trust policies
  exchange --broker URL --audience A             exchange this workload's identity token

Options: --help, --version
${CONFIG_LINE}`,
  serve: `Usage: wif-broker serve [--config F]

Runs the broker. PORT overrides listen.port, REDIS_URL overrides store.redis. SIGHUP reloads policies and keys;
SIGTERM drains in-flight requests, then exits.
${CONFIG_LINE}`,
  dev: `Usage: wif-broker dev [--port N]

The broker on 127.0.0.1:N (default 8080) with a loopback demo issuer that plays GitHub Actions, the policies of
examples/dev/policies and verbose errors; writes a signed identity token to a file and prints a curl command
that exchanges it. Ctrl-C stops.`,
  keys: `Usage: wif-broker keys generate --dir D [--alg ES256]
       wif-broker keys rotate --dir D [--alg ES256] [--activate-in 1h]`,
  "keys generate": `Usage: wif-broker keys generate --dir D [--alg ES256]

Writes a new active signing key (JWK, mode 0600) into D. --alg: ES256 (default), EdDSA, RS256 or PS256.`,
  "keys rotate": `Usage: wif-broker keys rotate --dir D [--alg ES256] [--activate-in 1h]

Writes the next signing key into D with nbf --activate-in from now: /jwks publishes it before it signs.`,
  policy: `Usage: wif-broker policy validate [PATH] [--strict] [--config F]
       wif-broker policy test [PATH] [--config F]
       wif-broker policy explain (--claims F | --token JWT) --provider NAME --audience A [--scope S]
                                 [--source-ip IP] [--time ISO] [--policies PATH] [--config F] [--json]
       wif-broker policy schema
       wif-broker policy diff --base DIR --head DIR --audit FILE… [--config F] [--format text|json|github]
                              [--allow-widening]

PATH: a policy file or directory; default the config's policies path (without --config: ./policies).
--config F resolves provider names to issuers (the linter needs it to know a multi-tenant issuer).`,
  "policy validate": `Usage: wif-broker policy validate [PATH] [--strict] [--config F]

Schema and lint; exit 1 on errors, and on warnings with --strict.`,
  "policy test": `Usage: wif-broker policy test [PATH] [--config F]

Runs the *.test.yaml fixtures next to the policies; exit 1 when a case fails.`,
  "policy explain": `Usage: wif-broker policy explain (--claims F | --token JWT) --provider NAME --audience A [--scope S]
                                 [--source-ip IP] [--time ISO] [--policies PATH] [--config F] [--json]

The decision trace for one request, offline: every check of every policy, the failing ones named.`,
  "policy schema": `Usage: wif-broker policy schema

Prints the JSON Schema of policy files (for editors: yaml-language-server).`,
  "policy diff": async () => (await import("./policy-diff.ts")).DIFF_USAGE,
  exchange: EXCHANGE_USAGE,
};

/** The usage for `words` (command, subcommand), or the nearest parent's. */
export async function helpFor(words: readonly string[]): Promise<string> {
  for (let n = Math.min(words.length, 2); n >= 0; n--) {
    const usage = USAGES[words.slice(0, n).join(" ")];
    if (usage !== undefined) return typeof usage === "string" ? usage : usage();
  }
  return "";
}

/** `--help` / `-h` anywhere before a `--`. */
export function wantsHelp(argv: readonly string[]): boolean {
  for (const arg of argv) {
    if (arg === "--") return false;
    if (arg === "--help" || arg === "-h") return true;
  }
  return false;
}
