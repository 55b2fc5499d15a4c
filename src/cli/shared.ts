import { type ParseArgsConfig, parseArgs } from "node:util";

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
