/**
 * `npm run bench`: /token throughput and latency of the broker beside the framework-free baseline (same run, same
 * tokens, 16 connections), then the decision benchmark. Prints figures; asserts nothing (targets are shown).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import autocannon from "autocannon";
import { DemoIssuer } from "../src/dev/demo-issuer.ts";
import { BENCH_CLAIMS, benchPolicies } from "./policies.ts";

const DURATION = Number(process.env.BENCH_SECONDS ?? 8);
const CONNECTIONS = 16;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const here = new URL(".", import.meta.url).pathname;

function child(script: string, args: string[]): Promise<ChildProcess> {
  const p = spawn(process.execPath, [join(here, script), ...args], { stdio: ["ignore", "ignore", "pipe"] });
  return new Promise((resolve, reject) => {
    let err = "";
    p.stderr?.on("data", (d) => {
      err += d;
      if (err.includes("ready")) resolve(p);
    });
    p.on("exit", (code) => reject(new Error(`${script} exited ${code}: ${err}`)));
  });
}

interface Figures {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

async function load(url: string, bodies: string[]): Promise<Figures> {
  let i = 0;
  const result = await autocannon({
    url: `${url}/token`,
    connections: CONNECTIONS,
    duration: DURATION,
    requests: [
      {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        setupRequest: (req) => ({ ...req, body: bodies[i++ % bodies.length] }),
      },
    ],
  });
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.non2xx + result.errors,
  };
}

const fmt = (f: Figures) =>
  `${f.rps.toFixed(0).padStart(7)} req/s   p50 ${f.p50.toFixed(2).padStart(6)} ms   p99 ${f.p99.toFixed(2).padStart(6)} ms   non-2xx ${f.errors}`;

async function main() {
  const idp = await DemoIssuer.start();
  const dir = mkdtempSync(join(tmpdir(), "wif-bench-"));
  writeFileSync(join(dir, "policies.yaml"), benchPolicies(200));
  const claims = BENCH_CLAIMS;
  const bodies = Array.from({ length: 256 }, () =>
    new URLSearchParams({
      grant_type: "urn:ietf:params:oauth:grant-type:token-exchange",
      subject_token_type: "urn:ietf:params:oauth:token-type:jwt",
      subject_token: idp.mint(claims, { ttl: 3600 }),
      audience: "https://deploy.acme.internal",
    }).toString(),
  );
  const jwk = JSON.stringify({ ...idp.currentKey.jwk, kid: idp.currentKey.kid });
  const baseline = await child("baseline-server.ts", [idp.url, jwk, "18081"]);
  const broker = await child("broker-server.ts", [idp.url, join(dir, "policies.yaml"), "18082"]);
  const targets = { baseline: "http://127.0.0.1:18081", broker: "http://127.0.0.1:18082" };
  try {
    for (const url of Object.values(targets)) {
      const res = await fetch(`${url}/token`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: bodies[0] ?? "",
      });
      if (res.status !== 200) throw new Error(`${url} answered ${res.status}: ${await res.text()}`);
    }
    console.log(
      `/token, ${CONNECTIONS} connections, ${DURATION} s per run, ${ROUNDS} rounds, 200 policies loaded, RS256 subject tokens, ES256 issued tokens`,
    );
    const runs: Record<string, Figures[]> = { baseline: [], broker: [] };
    for (let r = 0; r < ROUNDS; r++) {
      for (const [name, url] of Object.entries(targets)) {
        const f = await load(url, bodies);
        runs[name]?.push(f);
        console.log(`  round ${r + 1} ${name.padEnd(8)} ${fmt(f)}`);
      }
    }
    const best = (name: string) => (runs[name] ?? []).reduce((a, b) => (b.rps > a.rps ? b : a));
    const b = best("baseline");
    const k = best("broker");
    console.log(`\nbest of ${ROUNDS}:`);
    console.log(`  baseline ${fmt(b)}`);
    console.log(`  broker   ${fmt(k)}`);
    console.log(
      `  ratio broker/baseline throughput ${(k.rps / b.rps).toFixed(2)}× (target ≥ 1.0×); broker p99 ${k.p99.toFixed(2)} ms (target ≤ 10 ms)`,
    );
  } finally {
    baseline.kill();
    broker.kill();
    await idp.close();
  }
  await new Promise<void>((resolve, reject) => {
    const d = spawn(process.execPath, ["--expose-gc", join(here, "decision.ts")], { stdio: "inherit" });
    d.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`decision bench exited ${code}`))));
  });
}

await main();
