import { type ParseArgsConfig, parseArgs } from "node:util";
import { safeError } from "../observability/sanitize.ts";

/** A command returns its exit code, or -1 when it keeps running (a server) and exits on its own. */
export type Command = (argv: string[]) => Promise<number>;

export class CliError extends Error {
  override name = "CliError";
  readonly exitCode: number;
  constructor(message: string, exitCode = 2) {
    super(message);
    this.exitCode = exitCode;
  }
}

/** parseArgs with usage errors as CliError (exit 2). */
export function parseFlags<T extends NonNullable<ParseArgsConfig["options"]>>(
  argv: string[],
  options: T,
  allowPositionals = false,
) {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (e) {
    throw new CliError(e instanceof Error ? e.message : String(e));
  }
}

/** Errors whose message is meant for the operator (config, policies, keys, usage): no stack trace. */
const OPERATOR_ERRORS = new Set(["CliError", "ConfigError", "StartupError", "KeySetError", "YamlError"]);

/** What a failed command prints: the message of an operator error, else a sanitised stack for a bug report. */
export function describeFailure(e: unknown): string {
  if (e instanceof Error && OPERATOR_ERRORS.has(e.name)) return e.message;
  const safe = safeError(e);
  return safe.stack ?? `${safe.name}: ${safe.message}`;
}
