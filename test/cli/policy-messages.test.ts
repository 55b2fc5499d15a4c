import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { runCli } from "../helpers/cli.ts";
import { fixtureClaims } from "../helpers/fixtures.ts";

const tmp = () => mkdtempSync(join(tmpdir(), "wif-cli-"));
const REPO_ROOT = new URL("../../", import.meta.url).pathname;

const POLICY = (provider: string, match: string) => `apiVersion: wif-broker/v1
kind: TrustPolicy
metadata: { name: p }
spec:
  provider: ${provider}
  match: ${match}
  grant: { targets: [{ audience: https://x.internal, scopes: [a] }] }
`;

describe("wif-broker policy explain, with values", () => {
  const dir = tmp();
  writeFileSync(
    join(dir, "p.yaml"),
    POLICY(
      "github",
      `{ repository_owner_id: "65", ref: { glob: "refs/heads/release/*" }, event_name: { in: [workflow_dispatch] } }`,
    ),
  );
  const claimsFile = join(dir, "claims.json");
  writeFileSync(claimsFile, JSON.stringify(fixtureClaims("github-actions-branch")));
  const explain = (...extra: string[]) =>
    runCli([
      "policy",
      "explain",
      "--claims",
      claimsFile,
      "--provider",
      "github",
      "--audience",
      "https://x.internal",
      "--policies",
      dir,
      ...extra,
    ]);

  it("prints the expected pattern and the actual value of each failing check", () => {
    const r = explain("--scope", "b");
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stdout,
      /FAIL match\.ref: glob does not hold\n {11}expected glob "refs\/heads\/release\/\*"\n {11}actual {3}"refs\/heads\/main"/,
    );
    assert.match(
      r.stdout,
      /FAIL match\.event_name: in does not hold\n {11}expected in \["workflow_dispatch"\]\n {11}actual {3}"push"/,
    );
    assert.doesNotMatch(
      r.stdout,
      /ok {3}match\.repository_owner_id\n {11}expected/,
      "passing checks stay one line",
    );
  });

  it("--json carries expected and actual for every check", () => {
    const r = explain("--json");
    const d = JSON.parse(r.stdout) as {
      trace: Array<{ checks: Array<{ check: string; ok: boolean; expected?: string; actual?: string }> }>;
    };
    const checks = d.trace[0]?.checks ?? [];
    assert.deepEqual(
      checks.find((c) => c.check === "match.repository_owner_id"),
      {
        check: "match.repository_owner_id",
        ok: true,
        expected: '"65"',
        actual: '"65"',
      },
    );
    assert.deepEqual(
      checks.find((c) => c.check === "provider"),
      { check: "provider", ok: true, expected: "github", actual: "github" },
    );
  });
});

describe("wif-broker policy: messages for common mistakes", () => {
  it("explain --claims that is not a JSON object: one plain line, exit 1", () => {
    const file = join(tmp(), "claims.json");
    writeFileSync(file, "[1, 2]");
    const r = runCli(["policy", "explain", "--claims", file, "--provider", "github", "--audience", "a"]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `wif-broker: --claims ${file}: not a JSON object\n`);
  });

  it("a YAML alias fails with a plain message and the line", () => {
    const dir = tmp();
    writeFileSync(
      join(dir, "alias.yaml"),
      `apiVersion: wif-broker/v1\nkind: TrustPolicy\nmetadata: { name: p }\nspec:\n  provider: github\n  match: &m { repository_owner_id: "65" }\n  condition: "true"\n  grant: { targets: [{ audience: *m }] }\n`,
    );
    const r = runCli(["policy", "validate", dir]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /alias\.yaml: line 8: YAML aliases are not allowed in policy files/);
  });

  it("an unknown provider name is an error without --config unless it is a well-known platform name", () => {
    const dir = tmp();
    writeFileSync(join(dir, "typo.yaml"), POLICY("githbu", `{ repository_owner_id: "65" }`));
    const typo = runCli(["policy", "validate", dir]);
    assert.equal(typo.code, 1, typo.stdout);
    assert.match(
      typo.stdout,
      /typo\.yaml: spec\.provider: unknown provider githbu \(not a well-known platform name; name your providers with --config\)/,
    );
    for (const known of ["gitlab", "kubernetes"]) {
      const ok = tmp();
      writeFileSync(join(ok, "p.yaml"), POLICY(known, `{ namespace_id: "72", sub: x }`));
      const r = runCli(["policy", "validate", ok]);
      assert.doesNotMatch(r.stdout, /unknown provider/, r.stdout);
    }
    const config = join(dir, "wif-broker.yaml");
    writeFileSync(config, "providers:\n  - { name: githbu, issuer: https://issuer.example }\n");
    const configured = runCli(["policy", "validate", dir, "--config", config]);
    assert.doesNotMatch(configured.stdout, /unknown provider/);
    writeFileSync(
      join(dir, "gh.yaml"),
      POLICY("github", `{ repository_owner_id: "65" }`).replace("name: p", "name: q"),
    );
    const notInConfig = runCli(["policy", "validate", dir, "--config", config]);
    assert.match(
      notInConfig.stdout,
      /gh\.yaml: spec\.provider: unknown provider github \(not in .*wif-broker\.yaml\)/,
    );
  });

  it("without PATH, policy commands read the policies serve would load", () => {
    // No config anywhere: the embedded default, i.e. the shipped policies.
    const empty = tmp();
    const shipped = readdirSync(join(REPO_ROOT, "policies")).filter((f) => !f.includes(".test."));
    const r = runCli(["policy", "validate"], { cwd: empty });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^\d+ policies, 0 error\(s\)/m);
    assert.ok(shipped.length > 0);
    // ./wif-broker.yaml, as serve finds it, and its policies path.
    const cwd = tmp();
    mkdirSync(join(cwd, "trust"));
    writeFileSync(join(cwd, "trust", "p.yaml"), POLICY("corp", `{ sub: "x" }`));
    writeFileSync(
      join(cwd, "wif-broker.yaml"),
      "policies: ./trust\nproviders:\n  - { name: corp, issuer: https://idp.corp.example }\n",
    );
    const local = runCli(["policy", "validate"], { cwd });
    assert.equal(local.code, 0, local.stdout);
    assert.match(local.stdout, /^1 policy, 0 error\(s\)/m);
    // WIF_BROKER_CONFIG wins over ./wif-broker.yaml, as for serve.
    const other = tmp();
    writeFileSync(join(other, "cfg.yaml"), `policies: ${join(cwd, "trust")}\nproviders: []\n`);
    const viaEnv = runCli(["policy", "validate"], {
      cwd,
      env: { WIF_BROKER_CONFIG: join(other, "cfg.yaml") },
    });
    assert.match(viaEnv.stdout, /unknown provider corp/);
  });
});
