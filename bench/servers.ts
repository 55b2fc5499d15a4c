import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { SEMI_SPACE } from "./policies.ts";

const here = new URL(".", import.meta.url).pathname;

/**
 * Starts a bench server script (bench/*-server.ts) with the young-generation bound the container image sets
 * (Dockerfile NODE_OPTIONS), plus `flags`; resolves once it prints `ready <port>` on stderr.
 */
export function startServer(
  script: string,
  args: string[],
  flags: string[] = [],
): Promise<{ proc: ChildProcess; url: string }> {
  const proc = spawn(process.execPath, [SEMI_SPACE, ...flags, join(here, script), ...args], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  return new Promise((resolve, reject) => {
    let err = "";
    proc.stderr?.on("data", (d) => {
      err += d;
      const m = /ready (\d+)/.exec(err);
      if (m) resolve({ proc, url: `http://127.0.0.1:${m[1]}` });
    });
    proc.on("exit", (code) => reject(new Error(`${script} exited ${code}: ${err}`)));
  });
}
