/**
 * `node bench/profile.ts [broker|floor] [seconds]`: the broker (or the framework-free floor) of `npm run bench` under
 * wrk (fresh tokens) with `--cpu-prof`, then a flat profile: self time by function and by package/file. Writes the
 * .cpuprofile under the OS temp dir (open it in Chrome DevTools for the tree). Asserts nothing.
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DemoIssuer } from "../src/dev/demo-issuer.ts";
import { load } from "./load.ts";
import { benchPolicies } from "./policies.ts";
import { startServer } from "./servers.ts";
import { freshBodies, subjectJob } from "./tokens.ts";

const SYSTEM = process.argv[2] === "floor" ? "floor" : "broker";
const SECONDS = Number(process.argv[3] ?? 6);

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount: number;
}

const dir = mkdtempSync(join(tmpdir(), "wif-profile-"));
const idp = await DemoIssuer.start();
writeFileSync(join(dir, "policies.yaml"), benchPolicies(200));
const job = subjectJob(idp);
const { proc, url } = await startServer(
  SYSTEM === "floor" ? "baseline-server.ts" : "broker-server.ts",
  SYSTEM === "floor"
    ? [idp.url, JSON.stringify({ ...idp.currentKey.jwk, kid: idp.currentKey.kid })]
    : [idp.url, join(dir, "policies.yaml")],
  ["--cpu-prof", `--cpu-prof-dir=${dir}`],
);
await load(url, await freshBodies({ ...job, count: 3000 }), { connections: 16, seconds: 1, dir });
const f = await load(url, await freshBodies({ ...job, count: 7000 * SECONDS }), {
  connections: 16,
  seconds: SECONDS,
  dir,
});
console.log(`${SYSTEM} under wrk: ${f.rps.toFixed(0)} req/s p99 ${f.p99.toFixed(2)} ms (profiling slows it)`);
proc.kill("SIGTERM");
await new Promise((r) => proc.once("exit", r));
await idp.close();
const file = readdirSync(dir).find((n) => n.endsWith(".cpuprofile"));
if (!file) throw new Error("no profile written");
const prof = JSON.parse(readFileSync(join(dir, file), "utf8")) as { nodes: Node[] };
const total = prof.nodes.reduce((s, n) => s + n.hitCount, 0);
const idle = prof.nodes
  .filter((n) => n.callFrame.functionName === "(idle)")
  .reduce((s, n) => s + n.hitCount, 0);
const busy = total - idle;
const tally = (key: (n: Node) => string) => {
  const m = new Map<string, number>();
  for (const n of prof.nodes)
    if (n.callFrame.functionName !== "(idle)") m.set(key(n), (m.get(key(n)) ?? 0) + n.hitCount);
  return [...m].sort((a, b) => b[1] - a[1]).slice(0, 30);
};
const pkg = (u: string) => {
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(u);
  if (nm) return nm[1] ?? u;
  const src = /\/(src|bench)\/(.*)$/.exec(u);
  return src ? `${src[1]}/${src[2]}` : u || "(native)";
};
console.log(`\nprofile ${join(dir, file)}: ${busy} busy samples of ${total}`);
console.log("\nself time by package / file:");
for (const [k, v] of tally((n) => pkg(n.callFrame.url)))
  console.log(`  ${((100 * v) / busy).toFixed(1).padStart(5)} %  ${k}`);
console.log("\nself time by function:");
for (const [k, v] of tally(
  (n) => `${n.callFrame.functionName || "(anon)"} ${pkg(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`,
))
  console.log(`  ${((100 * v) / busy).toFixed(1).padStart(5)} %  ${k}`);
