import { readFileSync } from "node:fs";
import { CliError } from "../../shared.ts";
import { EXIT } from "../exit-codes.ts";
import { compactJws } from "./compact-jws.ts";

/** `--token-file` and `--k8s`: a file read on every run, surrounding whitespace ignored. */
export function tokenFromFile(path: string, flag: string, hint?: string): string {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? "unreadable";
    throw new CliError(
      `exchange: ${flag}: cannot read ${path} (${code})${hint ? `; ${hint}` : ""}`,
      EXIT.usage,
    );
  }
  const token = text.trim();
  if (!token) throw new CliError(`exchange: ${flag}: ${path} is empty`, EXIT.usage);
  return compactJws(token, `the file ${path}`, EXIT.usage);
}

/** `--token-env`: an environment variable. */
export function tokenFromEnv(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (!value?.trim()) throw new CliError(`exchange: --token-env: ${name} is not set or empty`, EXIT.usage);
  return compactJws(value.trim(), `the variable ${name}`, EXIT.usage);
}
