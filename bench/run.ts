/**
 * `npm run bench`: /token throughput and latency of three systems in one run, round-robin so they share the
 * machine's conditions: the broker, the framework-free floor (bench/baseline-server.ts) and oidc-provider
 * (bench/oidc-provider-server.ts). wrk (1 thread, 16 connections) when installed, else autocannon. Every request of a
 * round presents a token no earlier request of that system presented (fresh RS256 tokens signed beforehand); a second
 * scenario presents a few tokens over and over (repeat presenters). Then the decision and database lease benchmarks. Prints figures and the
 * ratios to the targets; asserts nothing.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { DemoIssuer } from "../src/dev/demo-issuer.ts";
import { type Figures, hasWrk, load } from "./load.ts";
import { benchPolicies } from "./policies.ts";
import { startServer } from "./servers.ts";
import { freshBodies, subjectJob as subjectOf } from "./tokens.ts";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = 16;
/** Bodies signed per system and round: more than a run can send at the rate of this machine. */
const POOL = Number(process.env.BENCH_POOL ?? 7000 * SECONDS);
const OP_ISSUER = "http://op.bench.internal";
const here = new URL(".", import.meta.url).pathname;

interface System {
  name: "floor" | "broker" | "oidc-provider";
  proc: ChildProcess;
  url: string;
  kind: "subject" | "assertion";
}

const fmt = (f: Figures) =>
  `${f.rps.toFixed(0).padStart(6)} req/s  p50 ${f.p50.toFixed(2).padStart(5)} ms  p99 ${f.p99.toFixed(2).padStart(6)} ms  non-2xx ${f.errors}  repeats ${f.repeats}`;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
};

async function main() {
  const dir = mkdtempSync(join(tmpdir(), "wif-bench-"));
  const idp = await DemoIssuer.start();
  writeFileSync(join(dir, "policies.yaml"), benchPolicies(200));
  const client = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const subjectJob = subjectOf(idp);
  const assertionJob = {
    kind: "assertion" as const,
    privateJwk: client.privateKey.export({ format: "jwk" }) as Record<string, string>,
    kid: "bench-client",
    issuer: OP_ISSUER,
    claims: {},
  };
  const jwk = JSON.stringify({ ...idp.currentKey.jwk, kid: idp.currentKey.kid });
  const systems: System[] = [
    { name: "floor", kind: "subject", ...(await startServer("baseline-server.ts", [idp.url, jwk])) },
    {
      name: "broker",
      kind: "subject",
      ...(await startServer("broker-server.ts", [idp.url, join(dir, "policies.yaml")])),
    },
    {
      name: "oidc-provider",
      kind: "assertion",
      ...(await startServer("oidc-provider-server.ts", [
        JSON.stringify({ ...(client.publicKey.export({ format: "jwk" }) as object), kid: "bench-client" }),
        "0",
        OP_ISSUER,
      ])),
    },
  ];
  const opts = { connections: CONNECTIONS, seconds: SECONDS, dir };
  try {
    const warm = {
      subject: await freshBodies({ ...subjectJob, count: 3000 }),
      assertion: await freshBodies({ ...assertionJob, count: 3000 }),
    };
    for (const s of systems) {
      const res = await fetch(`${s.url}/token`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: warm[s.kind].pop() ?? "",
      });
      if (res.status !== 200) throw new Error(`${s.name} answered ${res.status}: ${await res.text()}`);
      await load(s.url, warm[s.kind], { ...opts, seconds: 1 }); // JIT warm-up, not reported
    }
    console.log(
      `/token: ${hasWrk ? "wrk -t1" : "autocannon"} -c${CONNECTIONS}, ${SECONDS} s per run, ${ROUNDS} rounds, ` +
        `200 policies; RS256 tokens in (fresh per request), ES256 JWTs out; ${availableParallelism()} cores, ` +
        `load average before ${loadavg()[0]?.toFixed(2)}; Node ${process.version}`,
    );
    const runs = new Map<string, Figures[]>(systems.map((s) => [s.name, []]));
    for (let r = 0; r < ROUNDS; r++) {
      // Signed before the round, so signing never competes with a measured run.
      const pools = {
        subject: await freshBodies({ ...subjectJob, count: POOL }),
        assertion: await freshBodies({ ...assertionJob, count: POOL }),
      };
      for (const s of systems) {
        const f = await load(s.url, pools[s.kind], opts);
        runs.get(s.name)?.push(f);
        console.log(`  round ${r + 1}  ${s.name.padEnd(13)} ${fmt(f)}`);
      }
    }
    const med = (name: string, k: "rps" | "p50" | "p99") => median((runs.get(name) ?? []).map((f) => f[k]));
    console.log(`\nmedian of ${ROUNDS} rounds:`);
    for (const s of systems)
      console.log(
        `  ${s.name.padEnd(13)} ${med(s.name, "rps").toFixed(0).padStart(6)} req/s  p50 ${med(s.name, "p50").toFixed(2)} ms  p99 ${med(s.name, "p99").toFixed(2)} ms`,
      );
    const ratio = (a: number, b: number) => (a / b).toFixed(2);
    console.log(
      `  broker/floor throughput ${ratio(med("broker", "rps"), med("floor", "rps"))}× (target ≥ 1.0×); ` +
        `broker/floor p99 ${ratio(med("broker", "p99"), med("floor", "p99"))}× (target ≤ 1.2×); ` +
        `broker/oidc-provider throughput ${ratio(med("broker", "rps"), med("oidc-provider", "rps"))}× (target ≥ 1.6×)`,
    );

    // Repeat presenters: a pod's projected token or a credential_process refresh presents one token many times.
    const repeated = (await freshBodies({ ...subjectJob, count: 64 })).flatMap((b) => Array(1000).fill(b));
    console.log("\nrepeat presenters (64 distinct tokens, each presented ~1,000 times):");
    for (const s of systems.filter((x) => x.kind === "subject"))
      console.log(`  ${s.name.padEnd(13)} ${fmt({ ...(await load(s.url, repeated, opts)), repeats: 0 })}`);
  } finally {
    for (const s of systems) s.proc.kill();
    await idp.close();
    rmSync(dir, { recursive: true, force: true });
  }
  for (const [script, flags] of [
    ["decision.ts", ["--expose-gc"]],
    // Database leases against the local PostgreSQL (bench/leases.ts; its own database, dropped afterwards).
    ["leases.ts", []],
    // The plain exchange beside a DPoP-bound and a delegated one (CONTRACT §9).
    ["agents.ts", []],
    ["signing.ts", []],
  ] as const) {
    await new Promise<void>((resolve, reject) => {
      const d = spawn(process.execPath, [...flags, join(here, script)], { stdio: "inherit" });
      d.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`${script} exited ${code}`))));
    });
  }
}

await main();
