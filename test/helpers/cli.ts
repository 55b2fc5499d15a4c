import { spawn, spawnSync } from "node:child_process";

export const CLI = new URL("../../src/cli/main.ts", import.meta.url).pathname;

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI from source with the current Node (24 runs TypeScript directly). */
export function runCli(
  args: string[],
  options: { cwd?: string; env?: Record<string, string>; input?: string } = {},
): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    input: options.input,
    encoding: "utf8",
    timeout: 30_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Starts a long-running CLI command and resolves once `ready` matches its stderr. */
export function startCli(
  args: string[],
  ready: RegExp,
  env: Record<string, string> = {},
  nodeArgs: string[] = [],
) {
  const child = spawn(process.execPath, [...nodeArgs, CLI, ...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  let stdout = "";
  child.stdout.on("data", (d) => {
    stdout += d;
  });
  const started = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`CLI did not start: ${stderr}`)), 20_000);
    child.stderr.on("data", (d) => {
      stderr += d;
      if (ready.test(stderr)) {
        clearTimeout(timer);
        resolve(stderr);
      }
    });
    child.on("exit", (code) => reject(new Error(`CLI exited ${code}: ${stderr}`)));
  });
  const stop = () =>
    new Promise<number | null>((resolve) => {
      if (child.exitCode !== null) return resolve(child.exitCode);
      child.once("exit", (code) => resolve(code));
      child.kill("SIGTERM");
    });
  return { child, started, stop, output: () => ({ stdout, stderr }) };
}
