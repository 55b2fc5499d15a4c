/**
 * The soak: two broker processes sharing a private redis-server, driven through /token for SOAK_SECONDS (default
 * 600) at half the throughput measured at the start, with an issuer key rotation and a Redis restart in the
 * middle. Prints response classes per phase and each broker's resident memory at start and end; exits 1 when a
 * request timed out, a 5xx other than 503 or a 429 appeared, or the last phase did not recover. Loopback only.
 *
 *   SOAK_SECONDS=60 node bench/soak.ts
 *
 * Also this file's child role: `node bench/soak.ts broker <issuer> <policies> <port> <redisUrl>`.
 */
import { type ChildProcess, spawn } from "node:child_process";
import type { EventEmitter } from "node:events";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DemoIssuer } from "../src/dev/demo-issuer.ts";
import { freePort, type RedisServer, startRedisServer } from "../test/helpers/redis-server.ts";
import { benchPolicies } from "./policies.ts";

// ---- autocannon, typed here (the package ships no types) --------------------------------------------------------

interface CannonRequest {
  method: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string;
}
interface CannonOptions {
  url: string;
  connections: number;
  duration: number;
  timeout: number;
  overallRate?: number;
  requests: Array<CannonRequest & { setupRequest: (req: CannonRequest) => CannonRequest }>;
}
interface CannonResult {
  requests: { average: number; total: number };
}
interface CannonInstance extends EventEmitter {
  stop(): void;
}
type Autocannon = (
  opts: CannonOptions,
  done: (err: Error | null, result: CannonResult) => void,
) => CannonInstance;
const autocannon = createRequire(import.meta.url)("autocannon") as Autocannon;

// ---- the soak ---------------------------------------------------------------------------------------------------

const SOAK_SECONDS = Number(process.env.SOAK_SECONDS ?? 600);
const PEAK_SECONDS = 5;
const CONNECTIONS = 16;
const SINGLE_USE_EVERY = 10;
const REQUEST_TIMEOUT_S = 5;
const REDIS_DOWN_MS = 2000;
const AUDIENCE = "https://deploy.acme.internal";
const here = new URL(".", import.meta.url).pathname;

const SOAK_POLICIES = (repositoryId: string, name: string, singleUse: boolean) => `apiVersion: wif-broker/v1
kind: TrustPolicy
metadata: { name: ${name} }
spec:
  provider: github
  match: { repository_owner_id: "65", repository_id: "${repositoryId}", ref: { glob: "refs/heads/*" } }
  singleUse: ${singleUse}
  rateLimit: { requests: 1000000, per: 1m }
  grant:
    ttl: 15m
    subject: "github:{{claims.repository}}"
    targets:
      - audience: ${AUDIENCE}
        scopes: [deploy:read, deploy:write]
        defaultScopes: [deploy:read]
`;

const CLASSES = ["2xx", "400", "429", "503", "5xx other", "other", "timeouts", "conn errors"] as const;
type Class = (typeof CLASSES)[number];

/** Counts by class and a 0.1 ms latency histogram (up to 10 s) of one phase. */
class Tally {
  readonly counts = new Map<Class, number>(CLASSES.map((c) => [c, 0]));
  readonly latency = new Uint32Array(100_001);
  responses = 0;
  /** wif_broker_store_errors_total over both brokers, counted during this phase. */
  storeErrors = 0;
  startedAt = 0;
  endedAt = 0;

  readonly name: string;

  constructor(name: string) {
    this.name = name;
  }

  add(c: Class): void {
    this.counts.set(c, (this.counts.get(c) ?? 0) + 1);
  }

  response(status: number, ms: number): void {
    this.add(
      status >= 200 && status < 300
        ? "2xx"
        : status === 400
          ? "400"
          : status === 429
            ? "429"
            : status === 503
              ? "503"
              : status >= 500
                ? "5xx other"
                : "other",
    );
    const bucket = Math.min(100_000, Math.round(ms * 10));
    this.latency[bucket] = (this.latency[bucket] ?? 0) + 1;
    this.responses++;
  }

  percentile(p: number): number {
    let seen = 0;
    const want = Math.ceil(this.responses * p);
    for (let i = 0; i < this.latency.length; i++) {
      seen += this.latency[i] ?? 0;
      if (seen >= want && want > 0) return i / 10;
    }
    return Number.NaN;
  }

  get(c: Class): number {
    return this.counts.get(c) ?? 0;
  }
}

interface BrokerChild {
  proc: ChildProcess;
  stderrTail: () => string;
  /** "store error" warnings the broker logged, by error message. */
  storeErrors: Map<string, number>;
}

function child(args: string[]): Promise<BrokerChild> {
  const proc = spawn(process.execPath, [join(here, "broker-server.ts"), ...args], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let tail = "";
  let partial = "";
  const storeErrors = new Map<string, number>();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`broker did not start: ${tail}`)), 30_000);
    // Always drained: the store's warnings during the Redis outage must never fill the pipe and block the child.
    proc.stderr?.on("data", (d: Buffer) => {
      const text = d.toString();
      tail = (tail + text).slice(-4000);
      const lines = (partial + text).split("\n");
      partial = lines.pop() ?? "";
      for (const l of lines) {
        if (!l.includes('"msg":"store error"')) continue;
        const error = /"error":"([^"]{0,60})/.exec(l)?.[1] ?? "?";
        storeErrors.set(error, (storeErrors.get(error) ?? 0) + 1);
      }
      if (tail.includes("ready")) {
        clearTimeout(timer);
        resolve({ proc, stderrTail: () => tail, storeErrors });
      }
    });
    proc.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`broker exited ${code}: ${tail}`));
    });
  });
}

/** Sum of wif_broker_store_errors_total (every operation) over the given brokers. */
async function storeErrorsTotal(urls: string[]): Promise<number> {
  let sum = 0;
  for (const url of urls) {
    const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
    for (const l of text.split("\n"))
      if (l.startsWith("wif_broker_store_errors_total")) sum += Number(l.slice(l.lastIndexOf(" ") + 1));
  }
  return sum;
}

/** Resident set size of a process in MiB, from /proc (Linux). */
function rssMiB(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m?.[1] === undefined ? undefined : Number(m[1]) / 1024;
  } catch {
    return undefined;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function main(): Promise<void> {
  const started = Date.now();
  // The whole run is bounded: whatever happens, it ends.
  const watchdog = setTimeout(
    () => {
      console.error(`soak: watchdog, still running after ${SOAK_SECONDS + 180} s; exiting`);
      process.exit(2);
    },
    (SOAK_SECONDS + 180) * 1000,
  );
  watchdog.unref();

  const idp = await DemoIssuer.start();
  idp.rotate(true, "ES256"); // cheap to sign: single-use tokens are minted per request
  const redis: RedisServer = await startRedisServer();
  const dir = mkdtempSync(join(tmpdir(), "wif-soak-"));
  const policiesFile = join(dir, "policies.yaml");
  writeFileSync(
    policiesFile,
    [
      benchPolicies(200),
      SOAK_POLICIES("501", "soak-rate-limited", false),
      SOAK_POLICIES("502", "soak-single-use", true),
    ].join("---\n"),
  );
  const ports = [await freePort(), await freePort()];
  const brokers = await Promise.all(ports.map((p) => child([idp.url, policiesFile, String(p), redis.url])));
  const urls = ports.map((p) => `http://127.0.0.1:${p}`);

  const claims = (repositoryId: string, n: number) => ({
    aud: "https://broker.example.com",
    sub: `repo:octo-org/soak-${n % 64}:ref:refs/heads/main`,
    repository: `octo-org/soak-${n % 64}`,
    repository_owner_id: "65",
    repository_id: repositoryId,
    ref: "refs/heads/main",
  });
  const body = (token: string) =>
    new URLSearchParams({
      grant_type: "urn:ietf:params:oauth:grant-type:token-exchange",
      subject_token_type: "urn:ietf:params:oauth:token-type:jwt",
      subject_token: token,
      audience: AUDIENCE,
    }).toString();
  /** Reusable tokens (rate-limited policy), re-minted with the new key at the rotation. */
  const reusable = (): string[] =>
    Array.from({ length: 256 }, (_, i) => body(idp.mint(claims("501", i), { ttl: 3600 })));
  let pool = reusable();
  let sent = 0;
  const nextBody = (): string => {
    const n = sent++;
    // Every 10th request presents a fresh single-use token (a jti seen by no instance yet).
    if (n % SINGLE_USE_EVERY === 0) return body(idp.mint(claims("502", n)));
    return pool[n % pool.length] ?? "";
  };

  const cleanup = async (): Promise<void> => {
    for (const b of brokers) b.proc.kill("SIGTERM");
    await Promise.all(
      brokers.map(
        (b) =>
          new Promise<void>((resolve) => {
            if (b.proc.exitCode !== null || b.proc.signalCode !== null) return resolve();
            const force = setTimeout(() => b.proc.kill("SIGKILL"), 5000);
            b.proc.once("exit", () => {
              clearTimeout(force);
              resolve();
            });
          }),
      ),
    );
    await redis.stop();
    await idp.close();
  };

  try {
    // Warm-up: both kinds of request on both brokers. A broker listens before its Redis connection is ready, so
    // its first store-backed requests may answer 503 for a moment; wait (bounded) until they succeed.
    let warmup503 = 0;
    for (const url of urls) {
      for (let i = 0; i < 2; i++) {
        for (let attempt = 0; ; attempt++) {
          const res = await fetch(`${url}/token`, {
            method: "POST",
            headers: { "content-type": "application/x-www-form-urlencoded" },
            body: nextBody(),
          });
          if (res.status === 200) break;
          const text = await res.text();
          if (res.status !== 503 || attempt >= 50) throw new Error(`${url} answered ${res.status}: ${text}`);
          warmup503++;
          await sleep(100);
        }
      }
    }
    const rssIdle = brokers.map((b) => rssMiB(b.proc.pid));

    /** Runs autocannon against both instances at once (half the connections and rate each), tallying by phase. */
    const drive = (seconds: number, overallRate: number | undefined, phaseOf: () => Tally) =>
      Promise.all(
        urls.map(
          (url) =>
            new Promise<CannonResult>((resolve, reject) => {
              const instance = autocannon(
                {
                  url: `${url}/token`,
                  connections: CONNECTIONS / 2,
                  duration: seconds,
                  timeout: REQUEST_TIMEOUT_S,
                  ...(overallRate === undefined
                    ? {}
                    : { overallRate: Math.max(1, Math.round(overallRate / 2)) }),
                  requests: [
                    {
                      method: "POST",
                      headers: { "content-type": "application/x-www-form-urlencoded" },
                      setupRequest: (req) => ({ ...req, body: nextBody() }),
                    },
                  ],
                },
                (err, result) => (err ? reject(err) : resolve(result)),
              );
              instance.on("response", (_client: unknown, status: number, _bytes: number, ms: number) =>
                phaseOf().response(status, ms),
              );
              instance.on("reqError", (err: Error) =>
                phaseOf().add(err.message.includes("timed out") ? "timeouts" : "conn errors"),
              );
            }),
        ),
      );

    // 1. Peak, briefly.
    const peakTally = new Tally("peak (unthrottled)");
    const storeErrorsBefore = await storeErrorsTotal(urls);
    peakTally.startedAt = performance.now();
    const peakResults = await drive(PEAK_SECONDS, undefined, () => peakTally);
    peakTally.endedAt = performance.now();
    let storeErrorsMark = await storeErrorsTotal(urls);
    peakTally.storeErrors = storeErrorsMark - storeErrorsBefore;
    const peak = peakResults.reduce((sum, r) => sum + r.requests.average, 0);
    const rate = Math.max(2, Math.floor(peak / 2));
    console.log(
      `soak: 2 brokers + 1 redis-server on loopback, ${CONNECTIONS} connections, 1 in ${SINGLE_USE_EVERY} requests single-use, ` +
        `all rate-limited (1e6/min per subject); peak ${peak.toFixed(0)} req/s over ${PEAK_SECONDS} s → holding ${rate} req/s ` +
        `for ${SOAK_SECONDS} s`,
    );

    // 2. Hold half the peak; rotation at 30 %, Redis restart at 50 %.
    const phases = [
      { tally: new Tally("steady"), from: 0 },
      { tally: new Tally("issuer key rotation"), from: 0.3 },
      { tally: new Tally("redis kill + restart"), from: 0.5 },
      { tally: new Tally("steady after"), from: 0.7 },
    ];
    const soakStart = performance.now();
    const phaseOf = (): Tally => {
      const f = (performance.now() - soakStart) / (SOAK_SECONDS * 1000);
      let current = phases[0]?.tally as Tally;
      for (const p of phases) if (f >= p.from) current = p.tally;
      return current;
    };
    for (const [i, p] of phases.entries()) {
      p.tally.startedAt = soakStart + p.from * SOAK_SECONDS * 1000;
      p.tally.endedAt = soakStart + (phases[i + 1]?.from ?? 1) * SOAK_SECONDS * 1000;
    }
    const rssStart = brokers.map((b) => rssMiB(b.proc.pid));
    let rssMax = [...rssStart];
    const rssTimeline: string[] = [];
    const sampleEvery = Math.max(1000, (SOAK_SECONDS * 1000) / 10);
    const sampler = setInterval(() => {
      const now = brokers.map((b) => rssMiB(b.proc.pid));
      rssMax = brokers.map((_, i) => Math.max(rssMax[i] ?? 0, now[i] ?? 0));
      const t = ((performance.now() - soakStart) / 1000).toFixed(0);
      rssTimeline.push(`${t} s ${now.map((v) => (v === undefined ? "n/a" : v.toFixed(0))).join("/")}`);
    }, sampleEvery);
    const events: string[] = [];
    const at = (f: number) => sleep(Math.max(0, soakStart + f * SOAK_SECONDS * 1000 - performance.now()));
    const chaos = (async () => {
      await at(0.3);
      const kid = idp.rotate(false, "ES256");
      pool = reusable();
      events.push(
        `${((performance.now() - soakStart) / 1000).toFixed(1)} s: issuer rotated to kid ${kid.slice(0, 8)}…`,
      );
      await at(0.5);
      await redis.kill();
      events.push(`${((performance.now() - soakStart) / 1000).toFixed(1)} s: redis-server killed`);
      await sleep(REDIS_DOWN_MS);
      await redis.restart();
      events.push(
        `${((performance.now() - soakStart) / 1000).toFixed(1)} s: redis-server restarted on port ${redis.port}`,
      );
    })();
    const load = drive(SOAK_SECONDS, rate, phaseOf);
    // Store errors per phase, from the brokers' own metrics at each phase boundary.
    const marks = (async () => {
      for (const [i, p] of phases.entries()) {
        await at(phases[i + 1]?.from ?? 1);
        if (i === phases.length - 1) await load;
        const now = await storeErrorsTotal(urls);
        p.tally.storeErrors = now - storeErrorsMark;
        storeErrorsMark = now;
      }
    })();
    await Promise.all([load, chaos, marks]);
    clearInterval(sampler);
    const rssEnd = brokers.map((b) => rssMiB(b.proc.pid));
    rssMax = rssMax.map((m, i) => Math.max(m ?? 0, rssEnd[i] ?? 0));

    // 3. Report.
    if (warmup503 > 0)
      console.log(`  warm-up: ${warmup503} × 503 before the brokers' Redis connections were ready`);
    for (const e of events) console.log(`  ${e}`);
    const all = [peakTally, ...phases.map((p) => p.tally)];
    const cols = ["phase", "secs", "req/s", ...CLASSES, "p50 ms", "p99 ms", "store errs"];
    const rows = all.map((t) => {
      const secs = (t.endedAt - t.startedAt) / 1000;
      return [
        t.name,
        secs.toFixed(1),
        (t.responses / secs).toFixed(0),
        ...CLASSES.map((c) => String(t.get(c))),
        t.percentile(0.5).toFixed(2),
        t.percentile(0.99).toFixed(2),
        String(t.storeErrors),
      ];
    });
    const widths = cols.map((c, i) => Math.max(c.length, ...rows.map((r) => (r[i] ?? "").length)));
    const line = (cells: string[]) =>
      cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join("  ");
    console.log(line(cols));
    for (const r of rows) console.log(line(r));
    const mib = (v: number | undefined) => (v === undefined ? "n/a" : `${v.toFixed(1)} MiB`);
    brokers.forEach((b, i) => {
      console.log(
        `broker ${i + 1} (pid ${b.proc.pid}) RSS: idle ${mib(rssIdle[i])}, soak start ${mib(rssStart[i])}, ` +
          `end ${mib(rssEnd[i])}, max ${mib(rssMax[i])}`,
      );
    });
    console.log(`RSS MiB over the soak (broker 1/broker 2): ${rssTimeline.join(", ")}`);
    brokers.forEach((b, i) => {
      const errors = [...b.storeErrors].map(([e, n]) => `${n}× ${e}`).join(", ");
      console.log(`broker ${i + 1} store error kinds in its (rate-limited) log: ${errors || "none"}`);
    });

    const problems: string[] = [];
    const sum = (c: Class) => all.reduce((s, t) => s + t.get(c), 0);
    if (sum("timeouts") > 0) problems.push(`${sum("timeouts")} timeouts`);
    if (sum("5xx other") > 0) problems.push(`${sum("5xx other")} 5xx other than 503`);
    if (sum("429") > 0) problems.push(`${sum("429")} rate-limited (the limit was meant not to trip)`);
    if (sum("400") > 0) problems.push(`${sum("400")} valid tokens refused with 400`);
    const outage = phases[2]?.tally;
    const stray503 = all.filter((t) => t !== outage).reduce((s, t) => s + t.get("503"), 0);
    if (stray503 > 0) problems.push(`${stray503} 503s outside the Redis outage`);
    const last = phases.at(-1)?.tally;
    if (last === undefined || last.get("2xx") < last.responses * 0.99)
      problems.push("the last phase is not ≥ 99 % 2xx (no recovery)");
    for (const [i, b] of brokers.entries()) {
      if (b.proc.exitCode !== null)
        problems.push(`broker ${i + 1} exited during the soak: ${b.stderrTail()}`);
    }
    console.log(`verdict: ${problems.length === 0 ? "ok" : `FAIL: ${problems.join("; ")}`}`);
    console.log(`total ${((Date.now() - started) / 1000).toFixed(0)} s`);
    if (problems.length > 0) process.exitCode = 1;
  } finally {
    await cleanup();
  }
}

await main();
