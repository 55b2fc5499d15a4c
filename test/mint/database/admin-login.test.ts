import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { parseConfig } from "../../../src/config/load.ts";
import { adminPassword } from "../../../src/mint/database/admin-login.ts";

/** The admin login's password source (CONTRACT §8): a file read anew each time, or an IAM auth token. */
function connection(raw: Record<string, unknown>) {
  const config = parseConfig(
    {
      targets: {
        postgres: {
          connections: [{ name: "ledger", url: "postgres://wif_admin@db.internal:5432/ledger", ...raw }],
        },
      },
    },
    "(test)",
    process.cwd(),
  );
  const conn = config.targets.postgres?.connections[0];
  assert.ok(conn);
  return conn;
}
const endpoint = { host: "db.internal", port: 5432, user: "wif_admin" };

describe("database admin login", () => {
  it("passwordFile: read at every call (a rotated file is picked up), one trailing newline dropped", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "wif-admin-")), "pw");
    writeFileSync(file, "first\n");
    const p = adminPassword(connection({ passwordFile: file }), endpoint);
    assert.equal(await p.get(), "first");
    writeFileSync(file, "second");
    assert.equal(await p.get(), "second");
  });

  it("awsRdsIam: an RDS IAM auth token for the admin user at host:port, reused for new connections within 10 min", async () => {
    const p = adminPassword(connection({ awsRdsIam: { region: "eu-west-1" } }), endpoint, {
      awsCredentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret", sessionToken: "session" },
    });
    const token = await p.get();
    assert.ok(token?.startsWith("db.internal:5432/?"));
    const q = new URL(`https://${token}`).searchParams;
    assert.equal(q.get("Action"), "connect");
    assert.equal(q.get("DBUser"), "wif_admin");
    assert.match(q.get("X-Amz-Credential") ?? "", /^AKIDEXAMPLE\/\d{8}\/eu-west-1\/rds-db\/aws4_request$/);
    assert.equal(await p.get(), token);
    assert.equal(p.reuseMs, 600_000);
  });

  it("gcpIam: the Google access token is the password", async () => {
    let calls = 0;
    const p = adminPassword(connection({ gcpIam: {} }), endpoint, {
      gcpToken: async () => `ya29.token-${++calls}`,
    });
    assert.equal(await p.get(), "ya29.token-1");
    assert.equal(await p.get(), "ya29.token-1");
  });

  it("config: a URL with a password, two secret sources or no database are refused", () => {
    const refuse = (raw: Record<string, unknown>, why: RegExp) =>
      assert.throws(
        () =>
          parseConfig(
            { targets: { postgres: { connections: [{ name: "ledger", ...raw }] } } },
            "(test)",
            process.cwd(),
          ),
        why,
      );
    refuse({ url: "postgres://wif_admin:hunter2@db/ledger" }, /must not carry a password/);
    refuse({ url: "postgres://wif_admin@db/ledger", passwordFile: "/x", gcpIam: {} }, /at most one of/);
    refuse({ url: "postgres://wif_admin@db/" }, /must name the database/);
    refuse({ url: "mysql://wif_admin@db/ledger" }, /postgres:\/\/ or postgresql:\/\//);
    refuse({ url: "postgres://db/ledger" }, /admin user/);
  });
});
