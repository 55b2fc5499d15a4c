import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { CliError } from "../../src/cli/shared.ts";
import { runCli } from "../helpers/cli.ts";
import { auditLine, diff, policy, policyDir, tmp } from "./policy-diff/diff-kit.ts";

const OWNER = 'repository_owner_id: "65"';
const BASE = [
  policy(
    "p-deploy",
    `  match: { ${OWNER}, ref: refs/heads/main }
  grant:
    targets:
      - { audience: https://deploy, scopes: [read, write], defaultScopes: [read] }
      - { audience: https://deploy-ttl, ttl: 15m }
`,
  ),
  policy(
    "p-legacy",
    `  match: { ${OWNER}, repository: octo-org/legacy }\n  grant: { targets: [{ audience: https://legacy }] }\n`,
  ),
  policy(
    "p-zz-shared",
    `  match: { ${OWNER}, repository: octo-org/shared }\n  grant: { targets: [{ audience: https://shared }] }\n`,
  ),
  policy(
    "p-grant",
    `  match: { ${OWNER}, repository: octo-org/grant }\n  grant: { subject: "gh:{{claims.repository}}", targets: [{ audience: https://grant }] }\n`,
  ),
].join("");

const HEAD = [
  policy(
    "p-deploy",
    `  match: { ${OWNER}, ref: { glob: "refs/heads/*" } }
  grant:
    targets:
      - { audience: https://deploy, scopes: [read, write], defaultScopes: [read, write] }
      - { audience: https://deploy-ttl, ttl: 5m }
`,
  ),
  policy(
    "p-zz-shared",
    `  match: { ${OWNER}, repository: octo-org/shared }\n  grant: { targets: [{ audience: https://shared }] }\n`,
  ),
  policy(
    "p-aa-shared",
    `  match: { ${OWNER}, repository: octo-org/shared }\n  grant: { targets: [{ audience: https://shared }] }\n`,
  ),
  policy(
    "p-grant",
    `  match: { ${OWNER}, repository: octo-org/grant }\n  grant: { subject: "gh:{{claims.repository_id}}", targets: [{ audience: https://grant }] }\n`,
  ),
].join("");

const claims = (repository: string, ref = "refs/heads/main") => ({
  sub: `repo:${repository}:ref:${ref}`,
  repository_owner_id: "65",
  repository,
  repository_id: "74",
  ref,
});

/** One request per change kind, one unchanged, one without claims, one that is not JSON. */
function auditFile(): string {
  const file = join(tmp(), "audit.log");
  const lines = [
    auditLine("r-widen", claims("octo-org/app", "refs/heads/feature"), { audience: "https://deploy" }),
    auditLine("r-narrow", claims("octo-org/legacy"), { audience: "https://legacy" }),
    auditLine("r-policy", claims("octo-org/shared"), { audience: "https://shared" }),
    auditLine("r-scopes", claims("octo-org/app"), { audience: "https://deploy" }),
    auditLine("r-lifetime", claims("octo-org/app"), { audience: "https://deploy-ttl" }),
    auditLine("r-grant", claims("octo-org/grant"), { audience: "https://grant" }),
    auditLine("r-same", claims("octo-org/app"), { audience: "https://deploy", scope: "read write" }),
    JSON.stringify({ request_id: "r-unverified", decision: "deny", reason: "jwt.signature", status: 400 }),
    "not json at all",
  ];
  writeFileSync(file, `${lines.join("\n")}\n`);
  return file;
}

describe("wif-broker policy diff", () => {
  const base = policyDir(BASE);
  const head = policyDir(HEAD);

  it("prints every changed request grouped by policy, with counts, request id and sub; a widening exits 1", async () => {
    const r = await diff(["--base", base, "--head", head, "--audit", auditFile()]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(
      r.stdout,
      /^policy diff: 9 audit lines, 7 requests replayed, 6 changed \(1 deny→allow, 1 allow→deny, 1 another policy, 1 other scopes, 1 other lifetime, 1 other grant\); skipped 1 no claims, 1 not json$/m,
    );
    assert.match(r.stdout, /^p-deploy: 3 changed \(1 deny→allow, 1 other scopes, 1 other lifetime\)$/m);
    assert.match(
      r.stdout,
      /^ {2}deny→allow {2}request r-widen {2}sub repo:octo-org\/app:ref:refs\/heads\/feature {2}audience https:\/\/deploy: denied \(policy\.no_match\) → allowed by p-deploy \[read write\] 900s$/m,
    );
    assert.match(
      r.stdout,
      /^ {2}other scopes {2}request r-scopes .*allowed by p-deploy \[read\] 900s → allowed by p-deploy \[read write\] 900s$/m,
    );
    assert.match(
      r.stdout,
      /^ {2}other lifetime {2}request r-lifetime .*\[\] 900s → allowed by p-deploy \[\] 300s$/m,
    );
    assert.match(r.stdout, /^p-legacy: 1 changed \(1 allow→deny\)\n {2}allow→deny {2}request r-narrow /m);
    assert.match(
      r.stdout,
      /^p-aa-shared: 1 changed \(1 another policy\)\n.*allowed by p-zz-shared .*→ allowed by p-aa-shared/m,
    );
    assert.match(r.stdout, /^p-grant: 1 changed \(1 other grant\)\n.*request r-grant .*; subject changed$/m);
    assert.doesNotMatch(r.stdout, /r-same/);
    // Groups sorted by policy name.
    const order = ["p-aa-shared:", "p-deploy:", "p-grant:", "p-legacy:"].map((g) =>
      r.stdout.indexOf(`\n${g}`),
    );
    assert.deepEqual(
      [...order].sort((a, b) => a - b),
      order,
    );
    assert.match(
      r.stdout,
      /1 previously denied request would be allowed: widening \(pass --allow-widening to accept\)/,
    );
    assert.equal(r.stderr, "", "no progress output when stderr is not a terminal");
  });

  it("--allow-widening accepts a widening (exit 0); a pure narrowing exits 0", async () => {
    const audit = auditFile();
    const accepted = await diff(["--base", base, "--head", head, "--audit", audit, "--allow-widening"]);
    assert.equal(accepted.code, 0);
    assert.match(accepted.stdout, /accepted with --allow-widening/);
    const narrowing = await diff([
      "--base",
      base,
      "--head",
      policyDir(
        BASE.split("---")
          .filter((d) => !d.includes("p-legacy"))
          .join("---"),
      ),
      "--audit",
      audit,
    ]);
    assert.equal(narrowing.code, 0, narrowing.stdout);
    assert.match(narrowing.stdout, /1 changed \(1 allow→deny\)/);
    const same = await diff(["--base", base, "--head", base, "--audit", audit]);
    assert.equal(same.code, 0);
    assert.match(same.stdout, /no decision changes/);
  });

  it("--format json is one document with the summary and every change", async () => {
    const r = await diff(["--base", base, "--head", head, "--audit", auditFile(), "--format", "json"]);
    assert.equal(r.code, 1);
    const doc = JSON.parse(r.stdout) as {
      summary: { replayed: number; changed: number; counts: Record<string, number>; widening: boolean };
      groups: Array<{
        policy: string;
        total: number;
        changes: Array<{ requestId: string; sub: string; kinds: string[] }>;
      }>;
    };
    assert.equal(doc.summary.replayed, 7);
    assert.equal(doc.summary.changed, 6);
    assert.equal(doc.summary.widening, true);
    assert.deepEqual(
      doc.groups.map((g) => [g.policy, g.total]),
      [
        ["p-aa-shared", 1],
        ["p-deploy", 3],
        ["p-grant", 1],
        ["p-legacy", 1],
      ],
    );
    const deploy = doc.groups.find((g) => g.policy === "p-deploy");
    assert.deepEqual(
      deploy?.changes.map((c) => [c.requestId, c.kinds]),
      [
        ["r-widen", ["widening"]],
        ["r-scopes", ["scopes"]],
        ["r-lifetime", ["lifetime"]],
      ],
    );
    assert.equal(deploy?.changes[0]?.sub, "repo:octo-org/app:ref:refs/heads/feature");
  });

  it("--format github writes annotations on the policy files: an error for a widening, warnings otherwise", async () => {
    const r = await diff(["--base", base, "--head", head, "--audit", auditFile(), "--format", "github"]);
    assert.equal(r.code, 1);
    assert.match(
      r.stdout,
      /^::error file=[^,]*policies\.yaml,title=policy diff%3A p-deploy widens access::3 recorded requests change \(1 deny→allow, 1 other scopes, 1 other lifetime\), e\.g\. r-widen \(sub repo:octo-org\/app:ref:refs\/heads\/feature\)/m,
    );
    assert.match(
      r.stdout,
      /^::warning file=[^,]*policies\.yaml,title=policy diff%3A p-legacy changes decisions::1 recorded requests change \(1 allow→deny\)/m,
    );
    assert.match(r.stdout, /^::group::p-deploy: 3 changed/m);
    assert.match(r.stdout, /^::endgroup::$/m);
    assert.match(r.stdout, /^::notice title=policy diff::policy diff: 9 audit lines, 7 requests replayed/m);
    const allowed = await diff([
      "--base",
      base,
      "--head",
      head,
      "--audit",
      auditFile(),
      "--format",
      "github",
      "--allow-widening",
    ]);
    assert.match(allowed.stdout, /^::warning [^\n]*p-deploy widens access/m);
  });

  it("workflow commands in a recorded sub cannot start a line (escaped)", async () => {
    const file = join(tmp(), "audit.log");
    const evil = { ...claims("octo-org/app", "refs/heads/x"), sub: "x\n::error::forged%" };
    writeFileSync(file, `${auditLine("r-evil", evil, { audience: "https://deploy" })}\n`);
    const r = await diff(["--base", base, "--head", head, "--audit", file, "--format", "github"]);
    assert.doesNotMatch(r.stdout, /^::error::forged/m);
    const text = await diff(["--base", base, "--head", head, "--audit", file]);
    assert.doesNotMatch(text.stdout, /^::error::forged/m);
  });

  it("reads several audit files, also gzip-compressed ones", async () => {
    const { gzipSync } = await import("node:zlib");
    const { readFileSync } = await import("node:fs");
    const plain = auditFile();
    const gz = join(tmp(), "audit.log.gz");
    writeFileSync(gz, gzipSync(readFileSync(plain)));
    const r = await diff([
      "--base",
      base,
      "--head",
      head,
      "--audit",
      plain,
      "--audit",
      gz,
      "--format",
      "json",
    ]);
    assert.equal(JSON.parse(r.stdout).summary.replayed, 14);
  });

  it("fails with exit 2 on a head that does not compile, a missing file, no replayable line or bad usage", async () => {
    const broken = policyDir(policy("bad", "  match: {}\n  grant: { targets: [] }\n  unknown: 1\n"));
    await assert.rejects(diff(["--base", base, "--head", broken, "--audit", auditFile()]), (e: unknown) => {
      assert.ok(e instanceof CliError);
      assert.equal(e.exitCode, 2);
      assert.match(e.message, /^head policies do not compile:\n.*policies\.yaml/);
      return true;
    });
    await assert.rejects(
      diff(["--base", base, "--head", head, "--audit", join(tmp(), "missing.log")]),
      /cannot read the audit files/,
    );
    const empty = join(tmp(), "none.log");
    writeFileSync(empty, `${JSON.stringify({ request_id: "x", decision: "allow" })}\n`);
    const r = await diff(["--base", base, "--head", head, "--audit", empty]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no replayable request .*audit: \{claims: true\}/);
    await assert.rejects(diff(["--base", base, "--head", head]), /--base, --head and --audit are required/);
    await assert.rejects(
      diff(["--base", base, "--head", head, "--audit", empty, "--format", "xml"]),
      /--format must be one of/,
    );
  });

  it("runs as a CLI command (help, exit codes)", () => {
    const help = runCli(["policy", "diff", "--help"]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Usage: wif-broker policy diff --base DIR --head DIR --audit FILE/);
    const r = runCli(["policy", "diff", "--base", base, "--head", head, "--audit", auditFile()]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /request r-widen/);
  });
});
