/**
 * Lease benchmark (CONTRACT §8), against the machine's PostgreSQL in its own database: /token exchanges per second
 * that each create a PostgreSQL login (CREATE ROLE + GRANT + lease row, one transaction), beside the floor — the
 * same transaction sent with the bare driver, no broker — and the reaper's throughput revoking 1,000 expired
 * leases. Prints figures; asserts nothing.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import autocannon from "autocannon";
import pg from "pg";
import { parseConfig } from "../src/config/load.ts";
import { DemoIssuer } from "../src/dev/demo-issuer.ts";
import { startBroker } from "../src/main.ts";
import { adminPassword } from "../src/mint/database/admin-login.ts";
import { leaseEvents } from "../src/mint/database/lease-events.ts";
import { leaseName, leasePassword, passwordHash } from "../src/mint/database/names.ts";
import { createPostgresDatabase } from "../src/mint/database/postgres.ts";
import { LeaseReaper } from "../src/mint/database/reaper.ts";
import { scramSha256Verifier } from "../src/mint/database/scram.ts";
import { memoryLogger } from "../src/observability/log.ts";
import { createMetrics } from "../src/observability/metrics.ts";
import { createPgTestDatabase, PG_SERVER } from "../test/helpers/databases.ts";
import { BENCH_CLAIMS } from "./policies.ts";

const DURATION = Number(process.env.BENCH_SECONDS ?? 8);
const CONNECTIONS = 8;
const EXPIRED = 1000;

const db = await createPgTestDatabase();
const idp = await DemoIssuer.start();
try {
  const dir = mkdtempSync(join(tmpdir(), "wif-bench-leases-"));
  writeFileSync(
    join(dir, "policies.yaml"),
    `apiVersion: wif-broker/v1
kind: TrustPolicy
metadata: { name: bench-ledger }
spec:
  provider: github
  match: { repository_owner_id: "${BENCH_CLAIMS.repository_owner_id}" }
  grant:
    targets:
      - audience: ledger
        postgres: { connection: ledger, roles: [${db.readonlyRole}], ttl: 1h }
`,
  );
  const config = parseConfig(
    {
      issuer: "https://broker.example.com",
      listen: { host: "127.0.0.1", port: 0 },
      policies: join(dir, "policies.yaml"),
      providers: [{ name: "github", issuer: idp.url, allowInsecureHttp: true }],
      targets: {
        postgres: {
          reapInterval: "1h",
          connections: [
            { name: "ledger", url: db.url, passwordFile: db.passwordFile, maxConnections: CONNECTIONS },
          ],
        },
      },
    },
    "(bench)",
    process.cwd(),
  );
  const broker = await startBroker(config, {
    watchPolicies: false,
    logger: memoryLogger(),
    audit: { write() {} },
  });
  const bodies = Array.from({ length: 256 }, () =>
    new URLSearchParams({
      grant_type: "urn:ietf:params:oauth:grant-type:token-exchange",
      subject_token_type: "urn:ietf:params:oauth:token-type:jwt",
      subject_token: idp.mint(BENCH_CLAIMS, { ttl: 3600 }),
      audience: "ledger",
    }).toString(),
  );
  let i = 0;
  const run = await autocannon({
    url: `${broker.url}/token`,
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
  await broker.close();
  console.log(
    `\nDatabase leases (PostgreSQL ${await serverVersion()}, ${CONNECTIONS} connections, ${DURATION} s)`,
  );
  console.log(
    `  /token creating a login  ${run.requests.average.toFixed(0).padStart(6)} exchanges/s   p50 ${run.latency.p50.toFixed(1)} ms   p99 ${run.latency.p99.toFixed(1)} ms   non-2xx ${run.non2xx + run.errors}`,
  );
  console.log(
    `  floor: the same transaction with the bare driver  ${(await floor()).toFixed(0).padStart(6)} logins/s`,
  );

  const conn = config.targets.postgres?.connections[0];
  if (!conn) throw new Error("no connection");
  const leases = await createPostgresDatabase(conn, {
    password: adminPassword(conn, { ...PG_SERVER, user: db.admin }),
  });
  const now = Date.now();
  for (let k = 0; k < EXPIRED; k += CONNECTIONS) {
    await Promise.all(
      Array.from({ length: Math.min(CONNECTIONS, EXPIRED - k) }, () =>
        leases.create(
          {
            name: leaseName("bench-reap", "postgres"),
            password: leasePassword(),
            policy: "bench-reap",
            subject: "bench",
            requestId: "bench",
            expiresAt: now + 60_000,
          },
          [db.readonlyRole],
        ),
      ),
    );
  }
  const metrics = createMetrics();
  const reaper = new LeaseReaper({
    databases: [leases],
    intervalMs: 3_600_000,
    clock: () => Date.now() + 120_000,
    events: leaseEvents({ write() {} }, metrics),
    logger: memoryLogger(),
    newRequestId: () => "bench",
  });
  const t0 = performance.now();
  await reaper.runOnce();
  const seconds = (performance.now() - t0) / 1000;
  const revoked = (await metrics.leasesRevoked.get()).values.reduce((a, v) => a + v.value, 0);
  console.log(
    `  reaper: ${revoked} of ${EXPIRED} expired leases revoked in ${seconds.toFixed(2)} s  ${(revoked / seconds).toFixed(0).padStart(6)} leases/s (batches of 100, one transaction each)`,
  );
  await leases.close();
} finally {
  await idp.close();
  await db.drop();
}

async function serverVersion(): Promise<string> {
  const c = new pg.Client({ connectionString: db.url, password: await adminPasswordText() });
  await c.connect();
  const v = (await c.query("SHOW server_version")).rows[0].server_version as string;
  await c.end();
  return v.split(" ")[0] ?? v;
}

async function adminPasswordText(): Promise<string> {
  const { readFile } = await import("node:fs/promises");
  return (await readFile(db.passwordFile, "utf8")).trim();
}

/** CREATE ROLE + GRANT + INSERT in one transaction per login, CONNECTIONS at a time, with pg alone. */
async function floor(): Promise<number> {
  const password = await adminPasswordText();
  const pool = new pg.Pool({ connectionString: db.url, password, max: CONNECTIONS });
  const end = performance.now() + DURATION * 1000;
  let done = 0;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      const c = await pool.connect();
      try {
        while (performance.now() < end) {
          const name = leaseName("bench-floor", "postgres");
          const pw = leasePassword();
          await c.query("BEGIN");
          await c.query(
            `CREATE ROLE ${pg.escapeIdentifier(name)} LOGIN PASSWORD ${pg.escapeLiteral(scramSha256Verifier(pw))} VALID UNTIL ${pg.escapeLiteral(new Date(Date.now() + 3_600_000).toISOString())}`,
          );
          await c.query(`GRANT ${pg.escapeIdentifier(db.readonlyRole)} TO ${pg.escapeIdentifier(name)}`);
          await c.query(
            "INSERT INTO wif_broker.leases (name, policy, subject, roles, password_sha256, request_id, expires_at) VALUES ($1, 'floor', 'floor', $2, $3, 'floor', now() + interval '1 hour')",
            [name, [db.readonlyRole], passwordHash(pw)],
          );
          await c.query("COMMIT");
          done++;
        }
      } finally {
        c.release();
      }
    }),
  );
  await pool.end();
  return done / DURATION;
}
