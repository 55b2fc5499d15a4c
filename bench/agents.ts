/**
 * Part of `npm run bench`: the plain exchange beside a DPoP-bound one (one more ES256 verify, RFC 7638 thumbprint
 * and a store write for the proof's jti) and a delegated one (a second subject-token verify for the actor token),
 * against the same broker process, 16 connections, fresh tokens and proofs per request. Prints figures and the
 * ratio to the plain exchange (target ≥ 0.8×); asserts nothing.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { generateKeyPairSync, type KeyObject, randomUUID, sign } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import autocannon from "autocannon";
import { DemoIssuer } from "../src/dev/demo-issuer.ts";
import { derToRaw } from "../src/jose/ecdsa-der.ts";
import { BENCH_CLAIMS, benchPolicies } from "./policies.ts";

const DURATION = Number(process.env.BENCH_SECONDS ?? 8);
const CONNECTIONS = 16;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const here = new URL(".", import.meta.url).pathname;

interface Figures {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

type Request = { body: string; dpop?: string };

async function load(url: string, next: () => Request): Promise<Figures> {
  const result = await autocannon({
    url: `${url}/token`,
    connections: CONNECTIONS,
    duration: DURATION,
    requests: [
      {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        setupRequest: (req) => {
          const r = next();
          return { ...req, body: r.body, headers: { ...req.headers, ...(r.dpop ? { dpop: r.dpop } : {}) } };
        },
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

/** A DPoP proof signed with node:crypto (the bench client must not be the bottleneck). */
function proofMaker() {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const jwk = publicKey.export({ format: "jwk" });
  const header = Buffer.from(JSON.stringify({ alg: "ES256", typ: "dpop+jwt", jwk })).toString("base64url");
  return (iat: number) => {
    const payload = Buffer.from(
      JSON.stringify({ jti: randomUUID(), htm: "POST", htu: "https://broker.example.com/token", iat }),
    ).toString("base64url");
    const input = `${header}.${payload}`;
    const der = sign("sha256", Buffer.from(input), privateKey as KeyObject);
    return `${input}.${derToRaw(der, 32).toString("base64url")}`;
  };
}

/** The broker on a free port; resolves with the process and the port it printed. */
function child(args: string[]): Promise<{ proc: ChildProcess; port: number }> {
  const p = spawn(process.execPath, [join(here, "broker-server.ts"), ...args], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  return new Promise((resolve, reject) => {
    let err = "";
    p.stderr?.on("data", (d) => {
      err += d;
      const ready = /ready (\d+)/.exec(err);
      if (ready) resolve({ proc: p, port: Number(ready[1]) });
    });
    p.on("exit", (code) => reject(new Error(`broker exited ${code}: ${err}`)));
  });
}

async function main() {
  const idp = await DemoIssuer.start();
  const dir = mkdtempSync(join(tmpdir(), "wif-bench-agents-"));
  // bench-target also admits an actor: another repository of the same owner (pinned by IDs, as lint wants).
  const policies = benchPolicies(200).replace(
    /(metadata: \{ name: bench-target \}\nspec:\n)/,
    `$1  actors:\n    - provider: github\n      match: { repository_owner_id: "65", repository_id: "75" }\n`,
  );
  if (!policies.includes("actors:")) throw new Error("bench-target policy not found");
  writeFileSync(join(dir, "policies.yaml"), policies);
  const form = (extra: Record<string, string> = {}) =>
    new URLSearchParams({
      grant_type: "urn:ietf:params:oauth:grant-type:token-exchange",
      subject_token_type: "urn:ietf:params:oauth:token-type:jwt",
      subject_token: idp.mint(BENCH_CLAIMS, { ttl: 3600 }),
      audience: "https://deploy.acme.internal",
      ...extra,
    }).toString();
  const plain = Array.from({ length: 256 }, () => form());
  const delegated = Array.from({ length: 256 }, () =>
    form({
      actor_token: idp.mint(
        { ...BENCH_CLAIMS, repository_id: "75", sub: "repo:octo-org/agent:ref:refs/heads/main" },
        { ttl: 3600 },
      ),
      actor_token_type: "urn:ietf:params:oauth:token-type:jwt",
    }),
  );
  const broker = await child([idp.url, join(dir, "policies.yaml")]);
  const url = `http://127.0.0.1:${broker.port}`;
  try {
    let i = 0;
    const scenarios: Record<string, () => () => Request> = {
      plain: () => () => ({ body: plain[i++ % plain.length] ?? "" }),
      // A proof is single-use: each request gets a fresh one, made on demand with the current iat.
      "dpop-bound": () => {
        const proof = proofMaker();
        return () => ({ body: plain[i++ % plain.length] ?? "", dpop: proof(Math.floor(Date.now() / 1000)) });
      },
      delegated: () => () => ({ body: delegated[i++ % delegated.length] ?? "" }),
    };
    for (const [name, make] of Object.entries(scenarios)) {
      const r = make()();
      const res = await fetch(`${url}/token`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", ...(r.dpop ? { dpop: r.dpop } : {}) },
        body: r.body,
      });
      if (res.status !== 200) throw new Error(`${name} answered ${res.status}: ${await res.text()}`);
    }
    console.log(
      `\n/token agents scenarios, ${CONNECTIONS} connections, ${DURATION} s per run, ${ROUNDS} rounds, one broker`,
    );
    const runs: Record<string, Figures[]> = {};
    for (let r = 0; r < ROUNDS; r++) {
      for (const [name, make] of Object.entries(scenarios)) {
        const f = await load(url, make());
        const list = runs[name] ?? [];
        list.push(f);
        runs[name] = list;
        console.log(`  round ${r + 1} ${name.padEnd(10)} ${fmt(f)}`);
      }
    }
    const best = (name: string) => (runs[name] ?? []).reduce((a, b) => (b.rps > a.rps ? b : a));
    const base = best("plain");
    console.log(`best of ${ROUNDS}:`);
    for (const name of Object.keys(scenarios)) {
      const f = best(name);
      console.log(
        `  ${name.padEnd(10)} ${fmt(f)}   ${(f.rps / base.rps).toFixed(2)}× plain${name === "plain" ? "" : " (target ≥ 0.8×)"}`,
      );
    }
  } finally {
    broker.proc.kill();
    await idp.close();
  }
}

await main();
