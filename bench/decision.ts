/**
 * Decision benchmark (issue: policy authoring at scale): p50/p99 per decision at 100, 1,000 and 10,000 policies,
 * load+compile time and resident memory with 10,000 policies. Runs in its own process for a clean RSS figure.
 */
import { decide } from "../src/policy/evaluate.ts";
import { compilePolicyFiles } from "../src/policy/parse.ts";
import { BENCH_CLAIMS, benchPolicies, SEMI_SPACE } from "./policies.ts";

const LIMITS = { maxTtl: 3600, defaultTtl: 900 };
const claims = BENCH_CLAIMS;
const who = { provider: "github", subject: claims.sub, claims };
const request = {
  audience: "https://deploy.acme.internal",
  scopes: null,
  sourceIp: undefined,
  now: Date.now(),
};
const gc = (globalThis as { gc?: () => void }).gc;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;
}

/** One size per process, so the resident-memory figure belongs to that policy set alone. */
async function measure(n: number): Promise<void> {
  gc?.();
  const before = process.memoryUsage();
  let text: string | undefined = benchPolicies(n);
  const t0 = performance.now();
  const { set, problems } = compilePolicyFiles([{ path: "bench.yaml", text }]);
  const compileMs = performance.now() - t0;
  text = undefined;
  if (problems.length > 0) throw new Error(problems[0]?.message);
  const samples: number[] = [];
  for (let i = 0; i < 2000; i++) decide(set, who, request, LIMITS); // warm-up
  for (let i = 0; i < 20_000; i++) {
    const s = process.hrtime.bigint();
    const d = decide(set, who, request, LIMITS);
    samples.push(Number(process.hrtime.bigint() - s) / 1000);
    if (!d.allow) throw new Error("bench decision should allow");
  }
  const denySamples: number[] = [];
  const stranger = { ...who, claims: { ...claims, repository_owner_id: "1", repository_id: "2" } };
  for (let i = 0; i < 20_000; i++) {
    const s = process.hrtime.bigint();
    decide(set, stranger, request, LIMITS);
    denySamples.push(Number(process.hrtime.bigint() - s) / 1000);
  }
  samples.sort((a, b) => a - b);
  denySamples.sort((a, b) => a - b);
  gc?.();
  const after = process.memoryUsage();
  const mib = (b: number) => (b / 2 ** 20).toFixed(0);
  console.log(
    `  ${String(n).padStart(6)} policies: load+compile ${compileMs.toFixed(0).padStart(5)} ms   allow p50 ${percentile(samples, 0.5).toFixed(1)} µs p99 ${percentile(samples, 0.99).toFixed(1)} µs   deny p99 ${percentile(denySamples, 0.99).toFixed(1)} µs   heap held by the set ${mib(after.heapUsed - before.heapUsed)} MiB   process RSS ${mib(after.rss)} MiB (${mib(before.rss)} before loading)`,
  );
  if (set.size !== n) throw new Error("set size");
}

const size = Number(process.argv[2]);
if (size > 0) {
  await measure(size);
} else {
  console.log(
    "\ndecision (decide(): index lookup + full check of the candidates + templates; one process per size)",
  );
  const { spawnSync } = await import("node:child_process");
  for (const n of [100, 1000, 10_000]) {
    const r = spawnSync(
      process.execPath,
      ["--expose-gc", SEMI_SPACE, new URL(import.meta.url).pathname, String(n)],
      {
        stdio: "inherit",
      },
    );
    if (r.status !== 0) throw new Error(`decision bench for ${n} failed`);
  }
  console.log("  targets at 10,000: p99 ≤ 50 µs, load+compile ≤ 2 s, RSS ≤ 200 MiB");
}
