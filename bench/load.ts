/**
 * One load run against /token: wrk (1 thread) when installed, else autocannon; each body is sent once in order.
 * With `o.dpop`, request i also carries the DPoP header `o.dpop[i]` (single-use proofs, made before the run), the
 * bodies are cycled, and "repeats" counts how often the proofs ran out.
 */
import { execFileSync, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import autocannon from "autocannon";

export interface Figures {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  /** Times the body list ran out and started over (0 = no token was presented twice). */
  repeats: number;
}

export const hasWrk = (() => {
  try {
    execFileSync("wrk", ["--version"], { stdio: "ignore" });
    return true;
  } catch (e) {
    // wrk --version exits 1 after printing its version.
    return (e as { status?: number }).status === 1;
  }
})();

const LUA = new URL("./wrk-bodies.lua", import.meta.url).pathname;

const toMs = (v: string, unit: string) => Number(v) * (unit === "us" ? 0.001 : unit === "s" ? 1000 : 1);

function parseWrk(out: string): Figures {
  const pct = (p: string) => {
    const m = new RegExp(`^\\s*${p}%\\s+([\\d.]+)(us|ms|s)\\s*$`, "m").exec(out);
    return m ? toMs(m[1] ?? "0", m[2] ?? "ms") : Number.NaN;
  };
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? Number.NaN),
    p50: pct("50"),
    p99: pct("99"),
    errors:
      Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0) +
      (/Socket errors:.*/.exec(out) ? 1 : 0),
    repeats: Number(/^repeats (\d+)/m.exec(out)?.[1] ?? 0),
  };
}

export async function load(
  url: string,
  bodies: string[],
  o: { connections: number; seconds: number; dir: string; dpop?: readonly string[] },
): Promise<Figures> {
  if (hasWrk) {
    const name = Math.random().toString(36).slice(2);
    const file = join(o.dir, `bodies-${name}.txt`);
    writeFileSync(file, bodies.join("\n"));
    const proofs = join(o.dir, `dpop-${name}.txt`);
    if (o.dpop) writeFileSync(proofs, o.dpop.join("\n"));
    const out = await new Promise<string>((resolve, reject) => {
      const p = spawn("wrk", [
        "-t1",
        `-c${o.connections}`,
        `-d${o.seconds}s`,
        "--latency",
        "-s",
        LUA,
        url,
        "--",
        file,
        ...(o.dpop ? [proofs] : []),
      ]);
      let text = "";
      p.stdout.on("data", (d) => {
        text += d;
      });
      p.on("exit", (code) => (code === 0 ? resolve(text) : reject(new Error(`wrk exited ${code}`))));
    });
    return parseWrk(out);
  }
  let i = 0;
  let repeats = 0;
  const result = await autocannon({
    url: `${url}/token`,
    connections: o.connections,
    duration: o.seconds,
    requests: [
      {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        setupRequest: (req) => {
          const { dpop } = o;
          if (dpop) {
            if (i === dpop.length) {
              i = 0;
              repeats++;
            }
            const proof = dpop[i];
            const body = bodies[i++ % bodies.length];
            return { ...req, body, headers: { ...req.headers, ...(proof ? { dpop: proof } : {}) } };
          }
          if (i === bodies.length) {
            i = 0;
            repeats++;
          }
          return { ...req, body: bodies[i++] };
        },
      },
    ],
  });
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.non2xx + result.errors,
    repeats,
  };
}
