import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { policyFor } from "../database/database-test-kit.ts";
import { startTestBroker, type TestBroker } from "../helpers/broker.ts";
import { CLI } from "../helpers/cli.ts";
import {
  createMysqlTestDatabase,
  createPgTestDatabase,
  MYSQL_SERVER,
  type MysqlTestDatabase,
  PG_SERVER,
  type PgTestDatabase,
} from "../helpers/databases.ts";
import { fixtureClaims } from "../helpers/fixtures.ts";

/**
 * `wif-broker exchange --format pg-env | mysql-env | uri` (CONTRACT §6) end to end: the CLI exchanges at a broker
 * with database targets, and the stock clients (psql, mysql) log in with exactly what it printed.
 */
function exchange(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, "exchange", ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

const sh = (script: string) =>
  spawnSync("sh", ["-c", script], { encoding: "utf8", env: { PATH: process.env.PATH ?? "" } });

describe("exchange --format pg-env | mysql-env | uri (real PostgreSQL and MariaDB)", () => {
  let pgDb: PgTestDatabase;
  let myDb: MysqlTestDatabase;
  let b: TestBroker;
  let tokenFile: string;

  before(async () => {
    pgDb = await createPgTestDatabase();
    myDb = await createMysqlTestDatabase();
    b = await startTestBroker({
      policies: policyFor("cli-db", [
        {
          audience: "ledger",
          block: `postgres: { connection: ledger, roles: [${pgDb.readonlyRole}], ttl: 10m }`,
        },
        {
          audience: "shop",
          block: `mysql: { connection: shop, grants: ["SELECT ON ${myDb.database}.items"], ttl: 10m }`,
        },
        { audience: "https://plain.example", block: "scopes: [a]" },
      ]),
      config: {
        targets: {
          postgres: { connections: [{ name: "ledger", url: pgDb.url, passwordFile: pgDb.passwordFile }] },
          mysql: {
            connections: [
              { name: "shop", url: myDb.url, passwordFile: myDb.passwordFile, leaseSchema: myDb.leaseSchema },
            ],
          },
        },
      },
    });
    tokenFile = join(mkdtempSync(join(tmpdir(), "wif-cli-db-")), "token");
    writeFileSync(tokenFile, `${b.idp.mint(fixtureClaims("github-actions-branch"))}\n`);
  });
  after(async () => {
    await b?.close();
    await pgDb?.drop();
    await myDb?.drop();
  });

  const run = (audience: string, format: string) =>
    exchange(["--broker", b.url, "--audience", audience, "--token-file", tokenFile, "--format", format]);

  it("pg-env prints only the five export lines; psql logs in with them", async () => {
    const r = await run("ledger", "pg-env");
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split("\n");
    assert.deepEqual(
      lines.map((l) => /^export (PG[A-Z]+)='[^']*'$/.exec(l)?.[1]),
      ["PGHOST", "PGPORT", "PGDATABASE", "PGUSER", "PGPASSWORD"],
    );
    const psql = sh(`${r.stdout}\npsql -Atc "SELECT current_user || ' ' || (SELECT count(*) FROM items)"`);
    assert.equal(psql.status, 0, psql.stderr);
    assert.match(psql.stdout.trim(), /^wif_cli_db_[a-z0-9]{12} 2$/);
  });

  it("mysql-env prints the five MYSQL_* lines; the mysql client logs in with them (password checked)", async () => {
    const r = await run("shop", "mysql-env");
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      r.stdout
        .trimEnd()
        .split("\n")
        .map((l) => /^export (MYSQL_[A-Z_]+)='[^']*'$/.exec(l)?.[1]),
      ["MYSQL_HOST", "MYSQL_TCP_PORT", "MYSQL_DATABASE", "MYSQL_USER", "MYSQL_PWD"],
    );
    const mysql = sh(
      `${r.stdout}\nmysql --protocol=TCP -u "$MYSQL_USER" -D "$MYSQL_DATABASE" -N -e "SELECT COUNT(*) FROM items"`,
    );
    assert.equal(mysql.status, 0, mysql.stderr);
    assert.equal(mysql.stdout.trim(), "2");
    const wrong = sh(`${r.stdout}\nMYSQL_PWD=nope mysql --protocol=TCP -u "$MYSQL_USER" -e "SELECT 1"`);
    assert.notEqual(wrong.status, 0);
  });

  it("uri prints one percent-encoded URL line that psql and mysql accept", async () => {
    const pgUri = await run("ledger", "uri");
    assert.equal(pgUri.code, 0, pgUri.stderr);
    assert.match(
      pgUri.stdout,
      new RegExp(
        `^postgres://wif_cli_db_[a-z0-9]{12}:[A-Za-z0-9_-]{43}@127\\.0\\.0\\.1:${PG_SERVER.port}/wif_t_[a-f0-9]+\n$`,
      ),
    );
    const psql = sh(`psql '${pgUri.stdout.trim()}' -Atc "SELECT count(*) FROM items"`);
    assert.equal(psql.stdout.trim(), "2", psql.stderr);
    const myUri = await run("shop", "uri");
    assert.match(
      myUri.stdout,
      new RegExp(
        `^mysql://wif_cli_db_[a-z0-9]{12}:[A-Za-z0-9_-]{43}@127\\.0\\.0\\.1:${MYSQL_SERVER.port}/wif_t_[a-f0-9]+\n$`,
      ),
    );
    const u = new URL(myUri.stdout.trim());
    const mysql = sh(
      `MYSQL_PWD='${decodeURIComponent(u.password)}' mysql --protocol=TCP -h ${u.hostname} -P ${u.port} -u ${u.username} -D ${u.pathname.slice(1)} -N -e "SELECT 1"`,
    );
    assert.equal(mysql.stdout.trim(), "1", mysql.stderr);
  });

  it("a database format on a non-database target is refused by the broker before anything is minted (exit 1)", async () => {
    const r = await run("https://plain.example", "pg-env");
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "");
    const wrongEngine = await run("shop", "pg-env");
    assert.equal(wrongEngine.code, 1);
    assert.match(wrongEngine.stderr, /needs postgres credentials/);
  });
});
