#!/usr/bin/env node
import { CliError, type Command, describeFailure } from "./shared.ts";

const USAGE = `wif-broker — workload identity federation token broker

Usage:
  wif-broker serve [--config F]                  run the service
  wif-broker dev [--port N]                      service + a loopback demo issuer; prints a ready-to-run exchange
  wif-broker keys generate --dir D [--alg ES256] write a new signing key
  wif-broker keys rotate --dir D [--alg ES256] [--activate-in 1h]
                                                 stage the next signing key
  wif-broker policy validate|test|explain|diff|schema
                                                 see 'wif-broker policy --help'
  wif-broker exchange --broker URL --audience A  exchange this workload's identity token

Config: --config F, or WIF_BROKER_CONFIG, or ./wif-broker.yaml, else the embedded default.`;

const COMMANDS: Record<string, () => Promise<Command>> = {
  // Lazy: `exchange` runs as an AWS credential_process on every refresh and must not load the server or SDKs.
  serve: async () => (await import("./serve.ts")).runServe,
  dev: async () => (await import("./dev.ts")).runDev,
  keys: async () => (await import("./keys.ts")).runKeys,
  policy: async () => (await import("./policy.ts")).runPolicy,
  exchange: async () => (await import("./exchange.ts")).runExchange,
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(`${USAGE}\n`);
    return name === undefined ? 2 : 0;
  }
  const load = COMMANDS[name];
  if (!load) {
    process.stderr.write(`wif-broker: unknown command "${name}"\n\n${USAGE}\n`);
    return 2;
  }
  return (await load())(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== -1) process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`wif-broker: ${describeFailure(e)}\n`);
    process.exitCode = e instanceof CliError ? e.exitCode : 1;
  },
);
