#!/usr/bin/env node
import { packageVersion } from "../util/package-version.ts";
import { CliError, type Command, describeFailure } from "./shared.ts";
import { helpFor, wantsHelp } from "./usage.ts";

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
  if (name === "--version") {
    process.stdout.write(`wif-broker ${packageVersion()}\n`);
    return 0;
  }
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(`${await helpFor([])}\n`);
    return name === undefined ? 2 : 0;
  }
  const load = COMMANDS[name];
  if (!load) {
    process.stderr.write(`wif-broker: unknown command "${name}"\n\n${await helpFor([])}\n`);
    return 2;
  }
  if (wantsHelp(rest)) {
    const words = [name, ...rest.filter((a) => !a.startsWith("-"))];
    process.stdout.write(`${await helpFor(words)}\n`);
    return 0;
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
