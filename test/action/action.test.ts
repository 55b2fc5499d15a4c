/**
 * The GitHub Action as the runner runs it: `node action/dist/index.js` (the committed bundle) with the inputs
 * as INPUT_* variables, the OIDC request URL/token of a job with `id-token: write` pointing at a loopback fake,
 * and GITHUB_ENV / GITHUB_OUTPUT files. The credentials land in those files, and every one is masked
 * (`::add-mask::`) before anything else could print it.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ACTION_BUNDLE } from "../../action/build.ts";
import { type FakeActionsOidc, startFakeActionsOidc } from "../fakes/github-actions-oidc.ts";
import { type FakeSts, startFakeSts } from "../fakes/sts-server.ts";
import { BROKER_ISSUER, startTestBroker, type TestBroker } from "../helpers/broker.ts";
import {
  createMysqlTestDatabase,
  createPgTestDatabase,
  type MysqlTestDatabase,
  type PgTestDatabase,
} from "../helpers/databases.ts";
import { fixtureClaims } from "../helpers/fixtures.ts";

const ROLE = "arn:aws:iam::123456789012:role/deploy";
const policies = (pg: PgTestDatabase, my: MysqlTestDatabase) => `
apiVersion: wif-broker/v1
kind: TrustPolicy
metadata: { name: octo-deploy }
spec:
  provider: github
  match: { repository_owner_id: "65", repository_id: "74", ref: { glob: "refs/heads/*" } }
  grant:
    targets:
      - audience: https://deploy.acme.internal
        scopes: [deploy:read, deploy:write]
      - audience: aws-prod-deploy
        aws: { roleArn: "${ROLE}" }
      - audience: ledger
        postgres: { connection: ledger, roles: [${pg.readonlyRole}], ttl: 10m }
      - audience: shop
        mysql: { connection: shop, grants: ["SELECT ON ${my.database}.items"], ttl: 10m }
`;

interface ActionRun {
  code: number | null;
  stdout: string;
  env: Record<string, string>;
  outputs: Record<string, string>;
}

/** GITHUB_ENV / GITHUB_OUTPUT file commands: `NAME<<DELIMITER\nvalue\nDELIMITER` (@actions/core's format). */
function parseFileCommands(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /^([^\n<]+)<<(ghadelimiter_[0-9a-f-]+)\n([\s\S]*?)\n\2$/gm;
  for (const m of text.matchAll(re)) out[m[1] ?? ""] = m[3] ?? "";
  return out;
}

describe("GitHub Action (action/dist/index.js under a simulated runner)", () => {
  let b: TestBroker;
  let sts: FakeSts;
  let oidc: FakeActionsOidc;
  let pgDb: PgTestDatabase;
  let myDb: MysqlTestDatabase;

  before(async () => {
    sts = await startFakeSts();
    pgDb = await createPgTestDatabase();
    myDb = await createMysqlTestDatabase();
    b = await startTestBroker({
      policies: policies(pgDb, myDb),
      config: {
        targets: {
          aws: { region: "us-east-1", endpoint: sts.url },
          postgres: { connections: [{ name: "ledger", url: pgDb.url, passwordFile: pgDb.passwordFile }] },
          mysql: {
            connections: [
              { name: "shop", url: myDb.url, passwordFile: myDb.passwordFile, leaseSchema: myDb.leaseSchema },
            ],
          },
        },
      },
    });
    oidc = await startFakeActionsOidc(b.idp, fixtureClaims("github-actions-branch"));
  });
  after(async () => {
    await Promise.all([b?.close(), sts?.close(), oidc?.close()]);
    await Promise.all([pgDb?.drop(), myDb?.drop()]);
  });

  function runAction(
    inputs: Record<string, string>,
    runner: Record<string, string> = {},
  ): Promise<ActionRun> {
    const dir = mkdtempSync(join(tmpdir(), "wif-action-"));
    const envFile = join(dir, "env");
    const outputFile = join(dir, "output");
    writeFileSync(envFile, "");
    writeFileSync(outputFile, "");
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? "",
      GITHUB_ACTIONS: "true",
      RUNNER_TEMP: dir,
      GITHUB_ENV: envFile,
      GITHUB_OUTPUT: outputFile,
      ACTIONS_ID_TOKEN_REQUEST_URL: oidc.requestUrl,
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: oidc.requestToken,
      ...runner,
    };
    // The runner's names: INPUT_ + the input name upper-cased, spaces as underscores (dashes stay).
    for (const [name, value] of Object.entries(inputs)) env[`INPUT_${name.toUpperCase()}`] = value;
    const child = spawn(process.execPath, [ACTION_BUNDLE], { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    return new Promise((resolve, reject) => {
      child.on("error", reject);
      child.on("close", (code) => {
        clearTimeout(timer);
        resolve({
          code,
          stdout,
          env: parseFileCommands(readFileSync(envFile, "utf8")),
          outputs: parseFileCommands(readFileSync(outputFile, "utf8")),
        });
      });
    });
  }

  /** Every secret is masked, and the log shows it only in ::add-mask:: commands. */
  function assertMasked(stdout: string, secrets: string[]) {
    const lines = stdout.split("\n");
    for (const secret of secrets) {
      assert.ok(lines.includes(`::add-mask::${secret}`), "each credential is masked");
      const shown = lines.filter((l) => l.includes(secret) && !l.startsWith("::add-mask::"));
      assert.deepEqual(shown, [], "a credential is printed nowhere but in mask commands");
    }
  }

  it("AWS credentials: exported as AWS_* for later steps, set as outputs, every part masked", async () => {
    const r = await runAction({ "broker-url": b.url, audience: "aws-prod-deploy" });
    assert.equal(r.code, 0, r.stdout);
    const issued = sts.issued.at(-1);
    assert.ok(issued);
    assert.deepEqual(
      { ...r.env },
      {
        AWS_ACCESS_KEY_ID: issued.accessKeyId,
        AWS_SECRET_ACCESS_KEY: issued.secretAccessKey,
        AWS_SESSION_TOKEN: issued.sessionToken,
        AWS_CREDENTIAL_EXPIRATION: issued.expiration.toISOString(),
      },
    );
    assert.equal(r.outputs["aws-access-key-id"], issued.accessKeyId);
    assert.equal(r.outputs["aws-secret-access-key"], issued.secretAccessKey);
    assert.equal(r.outputs["aws-session-token"], issued.sessionToken);
    assert.equal(r.outputs["issued-token-type"], "urn:wif-broker:token-type:aws-credentials");
    assert.equal(r.outputs["token-type"], "N_A");
    const document = JSON.parse(r.outputs["access-token"] ?? "{}") as Record<string, unknown>;
    assert.equal(document.SecretAccessKey, issued.secretAccessKey);
    const idToken = oidc.issued.at(-1) ?? "";
    assertMasked(r.stdout, [
      idToken,
      r.outputs["access-token"] ?? "",
      issued.accessKeyId,
      issued.secretAccessKey,
      issued.sessionToken,
    ]);
    // The GitHub OIDC token was requested for the broker's issuer (read from its metadata).
    assert.equal(oidc.audiences.at(-1), BROKER_ISSUER);
  });

  it("a broker JWT with scopes; format outputs exports nothing; id-token-audience is honoured", async () => {
    const r = await runAction({
      "broker-url": b.url,
      audience: "https://deploy.acme.internal",
      scope: "deploy:write  deploy:read",
      format: "outputs",
      "id-token-audience": BROKER_ISSUER,
    });
    assert.equal(r.code, 0, r.stdout);
    assert.deepEqual(r.env, {}, "nothing exported");
    assert.equal(r.outputs.scope, "deploy:write deploy:read");
    assert.equal(r.outputs["token-type"], "Bearer");
    assert.match(r.outputs["expires-in"] ?? "", /^\d+$/);
    const token = r.outputs["access-token"] ?? "";
    assert.equal(token.split(".").length, 3);
    assertMasked(r.stdout, [token, oidc.issued.at(-1) ?? ""]);
  });

  it("a broker JWT in the environment: WIF_ACCESS_TOKEN and friends", async () => {
    const r = await runAction({ "broker-url": b.url, audience: "https://deploy.acme.internal" });
    assert.equal(r.code, 0, r.stdout);
    assert.equal(r.env.WIF_ACCESS_TOKEN, r.outputs["access-token"]);
    assert.equal(r.env.WIF_TOKEN_TYPE, "Bearer");
    assertMasked(r.stdout, [r.env.WIF_ACCESS_TOKEN ?? ""]);
  });

  it("pg-env: PG* exported for later steps, the password masked; PostgreSQL admits the lease login", async () => {
    const r = await runAction({ "broker-url": b.url, audience: "ledger", format: "pg-env" });
    assert.equal(r.code, 0, r.stdout);
    const doc = JSON.parse(r.outputs["access-token"] ?? "{}") as Record<string, string | number>;
    assert.deepEqual(r.env, {
      PGHOST: doc.Host,
      PGPORT: String(doc.Port),
      PGDATABASE: doc.Database,
      PGUSER: doc.Username,
      PGPASSWORD: doc.Password,
    });
    assert.equal(r.outputs["issued-token-type"], "urn:wif-broker:token-type:database-credentials");
    assertMasked(r.stdout, [String(doc.Password), r.outputs["access-token"] ?? ""]);
    const c = await pgDb.connectAs(String(doc.Username), String(doc.Password));
    try {
      const { rows } = await c.query("SELECT current_user AS u, current_database() AS d");
      assert.deepEqual(rows, [{ u: doc.Username, d: doc.Database }]);
    } finally {
      await c.end();
    }
  });

  it("mysql-env: MYSQL_* exported, the password masked; MariaDB admits the lease login with it", async () => {
    const r = await runAction({ "broker-url": b.url, audience: "shop", format: "mysql-env" });
    assert.equal(r.code, 0, r.stdout);
    assert.deepEqual(Object.keys(r.env), [
      "MYSQL_HOST",
      "MYSQL_TCP_PORT",
      "MYSQL_DATABASE",
      "MYSQL_USER",
      "MYSQL_PWD",
    ]);
    assert.equal(r.env.MYSQL_DATABASE, myDb.database);
    assertMasked(r.stdout, [r.env.MYSQL_PWD ?? ""]);
    const c = await myDb.connectAs(r.env.MYSQL_USER ?? "", r.env.MYSQL_PWD ?? "");
    try {
      const [rows] = await c.query("SELECT COUNT(*) AS n FROM items");
      assert.deepEqual(rows, [{ n: 2 }]);
    } finally {
      await c.end();
    }
  });

  it("pg-env for MySQL credentials (or a broker JWT) fails in one line and exports nothing", async () => {
    for (const [audience, issued] of [
      ["shop", /needs postgres credentials; the broker issued mysql/],
      ["https://deploy.acme.internal", /needs database credentials/],
    ] as const) {
      const r = await runAction({ "broker-url": b.url, audience, format: "pg-env" });
      assert.equal(r.code, 1);
      const errors = r.stdout.split("\n").filter((l) => l.startsWith("::error::"));
      assert.equal(errors.length, 1, r.stdout);
      assert.match(errors[0] ?? "", issued);
      assert.deepEqual(r.env, {});
      assert.deepEqual(r.outputs, {});
    }
  });

  it("refused by the broker: fails with the broker's error in one ::error:: line, nothing set", async () => {
    const r = await runAction({ "broker-url": b.url, audience: "https://elsewhere.example" });
    assert.equal(r.code, 1);
    const errors = r.stdout.split("\n").filter((l) => l.startsWith("::error::"));
    assert.equal(errors.length, 1, r.stdout);
    assert.match(errors[0] ?? "", /refused the exchange \(HTTP 400\): invalid_target/);
    assert.deepEqual(r.env, {});
    assert.deepEqual(r.outputs, {});
    assertMasked(r.stdout, [oidc.issued.at(-1) ?? ""]);
  });

  it("a job without id-token: write (no OIDC request variables) fails and says so", async () => {
    const r = await runAction(
      { "broker-url": b.url, audience: "aws-prod-deploy", "id-token-audience": BROKER_ISSUER },
      { ACTIONS_ID_TOKEN_REQUEST_URL: "", ACTIONS_ID_TOKEN_REQUEST_TOKEN: "" },
    );
    assert.equal(r.code, 1);
    assert.match(
      r.stdout,
      /^::error::cannot get a GitHub OIDC token \(does the job have "permissions: id-token: write"\?\)$/m,
    );
  });

  it("bad inputs: a missing audience, an unknown format", async () => {
    const missing = await runAction({ "broker-url": b.url });
    assert.equal(missing.code, 1);
    assert.match(missing.stdout, /^::error::Input required and not supplied: audience$/m);
    const format = await runAction({ "broker-url": b.url, audience: "aws-prod-deploy", format: "yaml" });
    assert.equal(format.code, 1);
    assert.match(format.stdout, /^::error::format must be one of env, outputs, pg-env, mysql-env$/m);
  });
});
