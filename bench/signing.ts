/**
 * The signing benchmark (part of `npm run bench`): /token exchanges/s and p99 with the key-file signer, direct KMS
 * signing (one KMS Sign per token) and certified KMS signing (KMS certifies an in-memory key once), against a
 * loopback AWS KMS that adds `KMS_LATENCY_MS` (default 15 ms) to every call. One broker at a time, 16 connections.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import autocannon from "autocannon";
import { DemoIssuer } from "../src/dev/demo-issuer.ts";
import { generatePrivateKey } from "../src/runtime/signing-keys.ts";
import { BENCH_CLAIMS, benchPolicies } from "./policies.ts";

const DURATION = Number(process.env.BENCH_SECONDS ?? 8);
const CONNECTIONS = 16;
const LATENCY = Number(process.env.KMS_LATENCY_MS ?? 15);
const here = new URL(".", import.meta.url).pathname;
const AWS_ENV = { AWS_ACCESS_KEY_ID: "AKIDBENCH", AWS_SECRET_ACCESS_KEY: "bench-not-a-secret" };

/** Starts a bench script; resolves with the words after "ready" on its stderr. */
function child(
  script: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<[ChildProcess, string[]]> {
  const p = spawn(process.execPath, [join(here, script), ...args], {
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, ...env },
  });
  return new Promise((resolve, reject) => {
    let err = "";
    p.stderr?.on("data", (d) => {
      err += d;
      const m = /ready ([^\n]*)\n/.exec(err);
      if (m) resolve([p, (m[1] ?? "").split(" ")]);
    });
    p.on("exit", (code) => reject(new Error(`${script} exited ${code}: ${err}`)));
  });
}

interface Figures {
  rps: number;
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
  return { rps: result.requests.average, p99: result.latency.p99, errors: result.non2xx + result.errors };
}

async function main() {
  const idp = await DemoIssuer.start();
  const dir = mkdtempSync(join(tmpdir(), "wif-bench-signing-"));
  writeFileSync(join(dir, "policies.yaml"), benchPolicies(200));
  const keysDir = join(dir, "keys");
  mkdirSync(keysDir);
  writeFileSync(
    join(keysDir, "k.jwk"),
    JSON.stringify(generatePrivateKey("ES256").export({ format: "jwk" })),
  );
  const bodies = Array.from({ length: 256 }, () =>
    new URLSearchParams({
      grant_type: "urn:ietf:params:oauth:grant-type:token-exchange",
      subject_token_type: "urn:ietf:params:oauth:token-type:jwt",
      subject_token: idp.mint(BENCH_CLAIMS, { ttl: 3600 }),
      audience: "https://deploy.acme.internal",
    }).toString(),
  );
  const [kms, [endpoint = "", arn = ""]] = await child("kms-server.ts", [String(LATENCY)]);
  const aws = { keyId: arn, region: "eu-west-1", endpoint };
  const signers: Record<string, unknown> = {
    "key file": { keysDir },
    "direct KMS": { kms: [{ aws }] },
    "certified KMS": { kms: [{ aws, mode: "certified" }] },
  };
  const rounds = Number(process.env.BENCH_ROUNDS ?? 2);
  console.log(
    `\nsigning: /token, ${CONNECTIONS} connections, ${DURATION} s per run, best of ${rounds} interleaved rounds, loopback AWS KMS with ${LATENCY} ms per call, ES256`,
  );
  const brokers: Array<[string, ChildProcess, string]> = [];
  try {
    for (const [name, signing] of Object.entries(signers)) {
      const [broker, [port]] = await child(
        "broker-server.ts",
        [idp.url, join(dir, "policies.yaml"), "0", "", JSON.stringify(signing)],
        AWS_ENV,
      );
      brokers.push([name, broker, `http://127.0.0.1:${port}`]);
      const first = await fetch(`http://127.0.0.1:${port}/token`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: bodies[0] ?? "",
      });
      if (first.status !== 200) throw new Error(`${name} answered ${first.status}: ${await first.text()}`);
    }
    const best: Record<string, Figures> = {};
    for (let r = 0; r < rounds; r++) {
      for (const [name, , url] of brokers) {
        const f = await load(url, bodies);
        if (!best[name] || f.rps > (best[name]?.rps ?? 0)) best[name] = f;
      }
    }
    for (const [name, f] of Object.entries(best)) {
      console.log(
        `  ${name.padEnd(14)} ${f.rps.toFixed(0).padStart(7)} exchanges/s   p99 ${f.p99.toFixed(2).padStart(7)} ms   non-2xx ${f.errors}`,
      );
    }
    const file = best["key file"];
    const certified = best["certified KMS"];
    if (file && certified) {
      console.log(
        `  ratio certified/key-file throughput ${(certified.rps / file.rps).toFixed(2)}× (target ≥ 0.95×)`,
      );
    }
  } finally {
    for (const [, broker] of brokers) broker.kill();
    kms.kill();
    await idp.close();
  }
}

await main();
