import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { runCli, startCli } from "../helpers/cli.ts";
import { fixtureClaims } from "../helpers/fixtures.ts";

const tmp = () => mkdtempSync(join(tmpdir(), "wif-cli-"));

const POLICY = (match: string) => `apiVersion: wif-broker/v1
kind: TrustPolicy
metadata: { name: p }
spec:
  provider: github
  match: ${match}
  grant: { targets: [{ audience: https://x.internal }] }
`;

describe("wif-broker policy", () => {
  it("validate names the file and the path of a schema error, exit 1", () => {
    const dir = tmp();
    writeFileSync(
      join(dir, "bad.yaml"),
      POLICY(`{ ref: { glob: "x", regex: "y" } }`).replace("audience: https://x.internal", "audince: x"),
    );
    const r = runCli(["policy", "validate", dir]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /bad\.yaml: spec\.grant\.targets\[0\]/);
    assert.match(r.stdout, /bad\.yaml: spec\.match\.ref/);
  });

  it("validate rejects a regex RE2 cannot run in linear time", () => {
    const dir = tmp();
    writeFileSync(join(dir, "re.yaml"), POLICY(`{ repository_id: "1", ref: { regex: "(a+)+\\\\1" } }`));
    const r = runCli(["policy", "validate", dir]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /re\.yaml: spec\.match\.ref: invalid regex/);
  });

  it("validate warns on lint findings and fails on them with --strict", () => {
    const dir = tmp();
    writeFileSync(
      join(dir, "loose.yaml"),
      POLICY(`{ repository_owner_id: "65", workflow_ref: { glob: "o/r/.github/workflows/*" } }`),
    );
    const loose = runCli(["policy", "validate", dir]);
    assert.equal(loose.code, 0, loose.stdout);
    assert.match(loose.stdout, /warning: .*loose\.yaml: p: .*\[reusable-workflow-unpinned\]/);
    const strict = runCli(["policy", "validate", dir, "--strict"]);
    assert.equal(strict.code, 1);
    assert.match(strict.stdout, /error: .*\[reusable-workflow-unpinned\]/);
  });

  it("test runs *.test.yaml fixtures and fails on a wrong expectation", () => {
    const dir = tmp();
    writeFileSync(join(dir, "p.yaml"), POLICY(`{ repository_id: "74" }`));
    const claims = fixtureClaims("github-actions-branch");
    const cases = [
      {
        name: "allowed",
        provider: "github",
        claims,
        request: { audience: "https://x.internal" },
        expect: "allow",
        policy: "p",
      },
      {
        name: "wrongly expected",
        provider: "github",
        claims,
        request: { audience: "https://y.internal" },
        expect: "allow",
      },
    ];
    writeFileSync(join(dir, "p.test.yaml"), JSON.stringify(cases));
    const r = runCli(["policy", "test", dir]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /ok {3}.*allowed: allowed by p/);
    assert.match(r.stdout, /FAIL .*wrongly expected: expected allow, got deny/);
    assert.match(r.stdout, /1 passed, 1 failed/);
  });

  it("test passes on the shipped examples", () => {
    const r = runCli(["policy", "test", "policies"], { cwd: new URL("../../", import.meta.url).pathname });
    assert.equal(r.code, 0, r.stdout);
    assert.match(r.stdout, /\d+ passed, 0 failed/);
  });

  it("explain names every failing check of each candidate, offline", () => {
    const dir = tmp();
    writeFileSync(
      join(dir, "p.yaml"),
      POLICY(`{ repository_id: "74", ref: refs/heads/release, event_name: workflow_dispatch }`),
    );
    const claimsFile = join(dir, "claims.json");
    writeFileSync(claimsFile, JSON.stringify(fixtureClaims("github-actions-branch")));
    const r = runCli([
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
    ]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /DENY \(policy\.no_match\)/);
    assert.match(r.stdout, /ok {3}match\.repository_id/);
    assert.match(r.stdout, /FAIL match\.ref: exact does not hold/);
    assert.match(r.stdout, /FAIL match\.event_name: exact does not hold/);
  });

  it("explain: a target named by an alias is allowed and shows its own audience; a miss lists the aliases", () => {
    const dir = tmp();
    writeFileSync(
      join(dir, "p.yaml"),
      POLICY(`{ repository_id: "74" }`).replace(
        "audience: https://x.internal",
        'audience: https://x.internal, aliases: ["//iam.googleapis.com/projects/1/providers/x"]',
      ),
    );
    const claimsFile = join(dir, "claims.json");
    writeFileSync(claimsFile, JSON.stringify(fixtureClaims("github-actions-branch")));
    const explain = (audience: string) =>
      runCli([
        "policy",
        "explain",
        "--claims",
        claimsFile,
        "--provider",
        "github",
        "--audience",
        audience,
        "--policies",
        dir,
      ]);
    const hit = explain("//iam.googleapis.com/projects/1/providers/x");
    assert.equal(hit.code, 0, hit.stdout + hit.stderr);
    assert.match(hit.stdout, /^ALLOW by p: .*target broker JWT \(audience https:\/\/x\.internal\)/m);
    const miss = explain("//iam.googleapis.com/projects/1/providers/y");
    assert.equal(miss.code, 1);
    assert.match(
      miss.stdout,
      /expected https:\/\/x\.internal \(alias \/\/iam\.googleapis\.com\/projects\/1\/providers\/x\)/,
    );
  });

  it("schema prints the JSON Schema", () => {
    const r = runCli(["policy", "schema"]);
    assert.equal(r.code, 0);
    const schema = JSON.parse(r.stdout);
    assert.equal(schema.$schema, "https://json-schema.org/draft/2020-12/schema");
    assert.equal(schema.properties.apiVersion.const, "wif-broker/v1");
  });
});

describe("wif-broker keys", () => {
  it("generate writes a private JWK file and prints only its name and kid", () => {
    const dir = tmp();
    const r = runCli(["keys", "generate", "--dir", dir, "--alg", "ES256"]);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.ok(out.kid);
    assert.doesNotMatch(r.stdout, /"d"/);
    const [file] = readdirSync(dir);
    const jwk = JSON.parse(readFileSync(join(dir, file ?? ""), "utf8"));
    assert.equal(jwk.kid, out.kid);
    assert.equal(typeof jwk.d, "string");
  });

  it("refuses an unknown algorithm", () => {
    const r = runCli(["keys", "generate", "--dir", tmp(), "--alg", "HS256"]);
    assert.equal(r.code, 2);
  });
});

describe("wif-broker serve", () => {
  it("stops on a bad config with a message naming the file and the path", () => {
    const dir = tmp();
    const file = join(dir, "wif-broker.yaml");
    writeFileSync(file, "issuer: https://b.example\nlisten: { port: 99999 }\nbogus: 1\n");
    const r = runCli(["serve", "--config", file]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /wif-broker\.yaml: listen\.port/);
    assert.match(r.stderr, /wif-broker\.yaml: .*bogus/);
  });

  it("refuses to start on broken policies, naming the file and the path", () => {
    const dir = tmp();
    const policies = join(dir, "policies");
    mkdirSync(policies);
    writeFileSync(join(policies, "broken.yaml"), POLICY(`{ ref: { glob: "" } }`));
    const file = join(dir, "wif-broker.yaml");
    writeFileSync(
      file,
      "issuer: https://b.example\nlisten: { port: 0 }\npolicies: ./policies\nproviders: [{ name: github, issuer: https://token.actions.githubusercontent.com }]\n",
    );
    const r = runCli(["serve", "--config", file]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /broken\.yaml: spec\.match\.ref/);
  });

  it("exits (does not hang) when a target cannot be set up, even with Redis configured", () => {
    const dir = tmp();
    mkdirSync(join(dir, "policies"));
    const file = join(dir, "wif-broker.yaml");
    writeFileSync(
      file,
      "issuer: https://b.example\nlisten: { port: 0 }\nstore: { redis: redis://127.0.0.1:6379/0 }\ntargets: { kubernetes: { clusters: [{ name: prod, kubeconfig: ./missing.kubeconfig }] } }\n",
    );
    const r = runCli(["serve", "--config", file]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /cannot set up providers and targets/);
  });

  it("starts on the embedded default and serves /readyz", async () => {
    const port = String(20000 + Math.floor(Math.random() * 20000));
    const s = startCli(["serve"], /wif-broker listening/, { PORT: port });
    try {
      await s.started;
      const res = await fetch(`http://127.0.0.1:${port}/readyz`);
      assert.equal(res.status, 200);
      assert.match(s.output().stderr, /ephemeral key/);
    } finally {
      assert.equal(await s.stop(), 0, "graceful exit on SIGTERM");
    }
  });
});

describe("wif-broker dev", () => {
  it("prints an exchange that works", async () => {
    const port = String(20000 + Math.floor(Math.random() * 20000));
    const s = startCli(["dev", "--port", port], /Ctrl-C stops/);
    try {
      const banner = await s.started;
      const tokenFile = /subject_token@(\S+)/.exec(banner)?.[1];
      assert.ok(tokenFile, banner);
      const body = new URLSearchParams({
        grant_type: "urn:ietf:params:oauth:grant-type:token-exchange",
        subject_token_type: "urn:ietf:params:oauth:token-type:jwt",
        subject_token: readFileSync(tokenFile, "utf8"),
        audience: "https://deploy.demo.internal",
        scope: "deploy:write",
      });
      const res = await fetch(`http://127.0.0.1:${port}/token`, { method: "POST", body });
      const json = (await res.json()) as Record<string, unknown>;
      assert.equal(res.status, 200, JSON.stringify(json));
      assert.equal(json.scope, "deploy:write");
    } finally {
      await s.stop();
    }
  });
});

describe("wif-broker policy validate, load errors", () => {
  it("fails without --strict on a literal of the wrong claim type (a number against GitHub's string ID)", () => {
    const dir = mkdtempSync(join(tmpdir(), "wif-cli-"));
    writeFileSync(join(dir, "num.yaml"), POLICY(`{ repository_owner_id: "65", repository_id: 74 }`));
    const r = runCli(["policy", "validate", dir]);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stdout, /error: .*num\.yaml: spec\.match\.repository_id: .*string.*quote it \("74"\)/);
  });

  it("fails on an unpinned multi-tenant policy unless it acknowledges the rule with a reason", () => {
    const dir = mkdtempSync(join(tmpdir(), "wif-cli-"));
    writeFileSync(join(dir, "open.yaml"), POLICY(`{ ref: refs/heads/main }`));
    const r = runCli(["policy", "validate", dir]);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stdout, /error: .*open\.yaml: spec\.match: \[multi-tenant-unpinned\]/);
    const acked = POLICY(`{ ref: refs/heads/main }`).replace(
      "spec:\n",
      'spec:\n  acknowledge: [{ rule: multi-tenant-unpinned, reason: "public demo, any repository may read" }]\n',
    );
    writeFileSync(join(dir, "open.yaml"), acked);
    const ok = runCli(["policy", "validate", dir]);
    assert.equal(ok.code, 0, ok.stdout);
    assert.match(ok.stdout, /acknowledged: .*\[multi-tenant-unpinned\] public demo, any repository may read/);
  });
});

describe("wif-broker policy: GitHub targets", () => {
  const GITHUB_TARGET = (github: string) => `apiVersion: wif-broker/v1
kind: TrustPolicy
metadata: { name: gh }
spec:
  provider: github
  match: { repository_owner_id: "65", repository_id: "74" }
  grant: { targets: [{ audience: github-acme, github: ${github} }] }
`;

  it("validate warns on administration: write and on all repositories of an owner; --strict fails", () => {
    const dir = tmp();
    writeFileSync(
      join(dir, "gh.yaml"),
      GITHUB_TARGET("{ owner: acme, permissions: { administration: write } }"),
    );
    const loose = runCli(["policy", "validate", dir]);
    assert.equal(loose.code, 0, loose.stdout);
    assert.match(
      loose.stdout,
      /warning: .*targets\[0\]\.github\.permissions\.administration: \[github-broad-token\]/,
    );
    assert.match(
      loose.stdout,
      /warning: .*targets\[0\]\.github\.repositories: \[github-broad-token\] no repositories listed/,
    );
    const strict = runCli(["policy", "validate", dir, "--strict"]);
    assert.equal(strict.code, 1);
    const narrow = tmp();
    writeFileSync(
      join(narrow, "gh.yaml"),
      GITHUB_TARGET("{ owner: acme, repositories: [app], permissions: { contents: read } }"),
    );
    assert.equal(runCli(["policy", "validate", narrow, "--strict"]).code, 0);
  });

  it("explain shows the GitHub grant and refuses a scope outside the target", () => {
    const dir = tmp();
    writeFileSync(
      join(dir, "gh.yaml"),
      GITHUB_TARGET("{ owner: acme, repositories: [app], permissions: { contents: write } }"),
    );
    const claimsFile = join(dir, "claims.json");
    writeFileSync(claimsFile, JSON.stringify(fixtureClaims("github-actions-branch")));
    const args = [
      "policy",
      "explain",
      "--claims",
      claimsFile,
      "--provider",
      "github",
      "--audience",
      "github-acme",
      "--policies",
      dir,
    ];
    const ok = runCli([...args, "--scope", "contents:read"]);
    assert.equal(ok.code, 0, ok.stdout);
    assert.match(
      ok.stdout,
      /ALLOW by gh: .*scopes \[contents:read\].*target github acme repositories \[app\]/,
    );
    const wide = runCli([...args, "--scope", "issues:write"]);
    assert.equal(wide.code, 1);
    assert.match(wide.stdout, /DENY \(policy\.scope_not_allowed\)/);
  });
});
