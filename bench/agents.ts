/**
 * Part of `npm run bench`: the plain exchange beside a DPoP-bound one (one more ES256 verify, RFC 7638 thumbprint
 * and a store write for the proof's jti) and a delegated one (a second subject-token verify for the actor token),
 * against the same broker process, 16 connections, the same load generator as the main bench (bench/load.ts: wrk
 * when installed, else autocannon). Subject and actor tokens are a set of 256 presented over and over; DPoP proofs
 * are single-use, so each DPoP run gets its own proofs, signed just before it (not during it: the client must not
 * be what is measured) with an iat that stays inside the broker's ±60 s window for the whole run. Prints figures
 * and the ratio to the plain exchange (target ≥ 0.8×); asserts nothing.
 */
import { generateKeyPairSync, type KeyObject, randomUUID, sign } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DemoIssuer } from "../src/dev/demo-issuer.ts";
import { DPOP_IAT_WINDOW_SECONDS } from "../src/identity/dpop.ts";
import { type Figures, load } from "./load.ts";
import { BENCH_CLAIMS, benchPolicies } from "./policies.ts";
import { startServer } from "./servers.ts";

const DURATION = Number(process.env.BENCH_SECONDS ?? 8);
const CONNECTIONS = 16;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
/** Proofs per DPoP run: the best plain rate so far × the run's length, with this margin (and never fewer than 5,000). */
const PROOF_MARGIN = 1.5;

if (DURATION + 10 > DPOP_IAT_WINDOW_SECONDS)
  throw new Error(
    `BENCH_SECONDS must be under ${DPOP_IAT_WINDOW_SECONDS - 10}: proofs are signed before the run`,
  );

interface Run extends Figures {
  /** The broker's CPU time per request (user + system): unlike req/s, barely moved by others sharing the machine. */
  cpuUs: number;
}

const fmt = (f: Run, dpop: boolean) =>
  `${f.rps.toFixed(0).padStart(7)} req/s   p50 ${f.p50.toFixed(2).padStart(6)} ms   p99 ${f.p99.toFixed(2).padStart(6)} ms   broker CPU ${f.cpuUs.toFixed(0).padStart(4)} µs/req   non-2xx ${f.errors}${dpop ? `   proofs ran out ${f.repeats}×` : ""}`;

/** CPU seconds a process has used (Linux /proc; fields 14 and 15 are utime and stime in clock ticks of 1/100 s). */
function cpuSeconds(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

/** DPoP proofs signed with node:crypto, one key per scenario as a real client has. */
function proofMaker() {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const jwk = publicKey.export({ format: "jwk" });
  const header = Buffer.from(JSON.stringify({ alg: "ES256", typ: "dpop+jwt", jwk })).toString("base64url");
  return (iat: number): string => {
    const payload = Buffer.from(
      JSON.stringify({ jti: randomUUID(), htm: "POST", htu: "https://broker.example.com/token", iat }),
    ).toString("base64url");
    const input = `${header}.${payload}`;
    const signature = sign("sha256", Buffer.from(input), {
      key: privateKey as KeyObject,
      dsaEncoding: "ieee-p1363",
    });
    return `${input}.${signature.toString("base64url")}`;
  };
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
  const broker = await startServer("broker-server.ts", [idp.url, join(dir, "policies.yaml")]);
  const { url } = broker;
  const opts = { connections: CONNECTIONS, seconds: DURATION, dir };
  const proof = proofMaker();
  let bestPlain = 0;
  const proofs = () => {
    const iat = Math.floor(Date.now() / 1000);
    const count = Math.max(5000, Math.ceil(bestPlain * DURATION * PROOF_MARGIN));
    return Array.from({ length: count }, () => proof(iat));
  };
  try {
    const measured = async (run: () => Promise<Figures>): Promise<Run> => {
      const before = cpuSeconds(broker.proc.pid);
      const f = await run();
      return { ...f, cpuUs: ((cpuSeconds(broker.proc.pid) - before) * 1e6) / (f.rps * DURATION) };
    };
    const scenarios: Record<string, () => Promise<Run>> = {
      plain: () => measured(() => load(url, plain, opts)),
      "dpop-bound": () => {
        const dpop = proofs();
        return measured(() => load(url, plain, { ...opts, dpop }));
      },
      delegated: () => measured(() => load(url, delegated, opts)),
    };
    // One request of each kind first: a scenario the broker refuses would otherwise be measured as errors.
    for (const [name, body, dpop] of [
      ["plain", plain[0], undefined],
      ["dpop-bound", plain[0], proof(Math.floor(Date.now() / 1000))],
      ["delegated", delegated[0], undefined],
    ] as const) {
      const res = await fetch(`${url}/token`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", ...(dpop ? { dpop } : {}) },
        body: body ?? "",
      });
      if (res.status !== 200) throw new Error(`${name} answered ${res.status}: ${await res.text()}`);
    }
    // Warm-up (JIT, caches), not reported: two seconds of each scenario.
    const warm = { ...opts, seconds: 2 };
    await load(url, plain, warm);
    await load(url, plain, { ...warm, dpop: proofs() });
    await load(url, delegated, warm);
    console.log(
      `\n/token agents scenarios, ${CONNECTIONS} connections, ${DURATION} s per run, ${ROUNDS} rounds, one broker`,
    );
    const runs: Record<string, Run[]> = {};
    for (let r = 0; r < ROUNDS; r++) {
      for (const [name, run] of Object.entries(scenarios)) {
        const f = await run();
        if (name === "plain") bestPlain = Math.max(bestPlain, f.rps);
        const list = runs[name] ?? [];
        list.push(f);
        runs[name] = list;
        console.log(`  round ${r + 1} ${name.padEnd(10)} ${fmt(f, name === "dpop-bound")}`);
      }
    }
    const best = (name: string) => (runs[name] ?? []).reduce((a, b) => (b.rps > a.rps ? b : a));
    const base = best("plain");
    console.log(`best of ${ROUNDS}:`);
    for (const name of Object.keys(scenarios)) {
      const f = best(name);
      console.log(
        `  ${name.padEnd(10)} ${fmt(f, name === "dpop-bound")}   ${(f.rps / base.rps).toFixed(2)}× plain${name === "plain" ? "" : " (target ≥ 0.8×)"}`,
      );
    }
    // Throughput a quiet machine would see, from CPU per request: the least of each scenario's runs.
    const cpu = (name: string) => Math.min(...(runs[name] ?? []).map((f) => f.cpuUs));
    console.log(
      `by broker CPU per request (least of ${ROUNDS}): ${Object.keys(scenarios)
        .filter((n) => n !== "plain")
        .map((n) => `${n} ${(cpu("plain") / cpu(n)).toFixed(2)}× plain`)
        .join(", ")}`,
    );
  } finally {
    broker.proc.kill();
    await idp.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
