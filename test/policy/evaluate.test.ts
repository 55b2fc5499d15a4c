import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decide, explain } from "../../src/policy/evaluate.ts";
import { compilePolicyFiles } from "../../src/policy/parse.ts";
import type { PolicySet } from "../../src/policy/policy-set.ts";
import type { DecisionRequest } from "../../src/policy/types.ts";
import { type FixtureName, fixtureClaims } from "../helpers/fixtures.ts";

const LIMITS = { maxTtl: 3600, defaultTtl: 900 };
const NOW = Date.UTC(2026, 10, 23, 12);

/**
 * The match language itself, apart from lint and claim shapes: providers on test issuers (no platform, so no
 * built-in claim types) and every policy acknowledging wildcard-only.
 */
const PROVIDERS = ["github", "gitlab", "k8s", "gcp", "other"].map((name) => ({
  name,
  issuer: `https://${name}.issuer.test`,
}));

function policies(yaml: string): PolicySet {
  const { set, problems } = compilePolicyFiles([{ path: "test.yaml", text: yaml }], { providers: PROVIDERS });
  assert.deepEqual(problems, []);
  return set;
}

function policy(
  name: string,
  match: string,
  extra = "",
  targets = "[{ audience: t, scopes: [a, b], defaultScopes: [a] }]",
  provider = "github",
) {
  return `---
apiVersion: wif-broker/v1
kind: TrustPolicy
metadata: { name: ${name} }
spec:
  provider: ${provider}
  match: ${match}
  acknowledge: [{ rule: wildcard-only, reason: "the match language under test" }]
  ${extra}
  grant: { targets: ${targets} }
`;
}

const req = (over: Partial<DecisionRequest> = {}): DecisionRequest => ({
  audience: "t",
  scopes: null,
  sourceIp: undefined,
  now: NOW,
  ...over,
});
const who = (fixture: FixtureName, provider = "github", over: Record<string, unknown> = {}) => {
  const claims = fixtureClaims(fixture, over);
  return { provider, subject: String(claims.sub), claims };
};

describe("match language (CONTRACT §5)", () => {
  const rows: Array<{
    name: string;
    match: string;
    fixture?: FixtureName;
    over?: Record<string, unknown>;
    allow: boolean;
  }> = [
    { name: "exact string", match: `{ repository_id: "74" }`, allow: true },
    { name: "exact is case-sensitive", match: `{ repository_owner: "Octo-Org" }`, allow: false },
    {
      name: "exact never coerces a number literal to a string claim",
      match: `{ repository_id: 74 }`,
      allow: false,
    },
    {
      name: "number literal matches a number claim",
      match: `{ runner_id: 27 }`,
      fixture: "gitlab-ci",
      allow: true,
    },
    {
      name: "string literal never matches a number claim",
      match: `{ runner_id: "27" }`,
      fixture: "gitlab-ci",
      allow: false,
    },
    { name: "boolean literal", match: `{ email_verified: true }`, fixture: "gcp-metadata-full", allow: true },
    {
      name: "string 'true' is not boolean true",
      match: `{ email_verified: "true" }`,
      fixture: "gcp-metadata-full",
      allow: false,
    },
    { name: "glob * within a segment", match: `{ ref: { glob: "refs/heads/*" } }`, allow: true },
    { name: "glob * never crosses /", match: `{ ref: { glob: "refs/*" } }`, allow: false },
    { name: "glob ** crosses /", match: `{ ref: { glob: "refs/**" } }`, allow: true },
    { name: "glob is anchored", match: `{ ref: { glob: "heads/*" } }`, allow: false },
    {
      name: "glob treats regex metacharacters literally",
      match: `{ repository: { glob: "octo-org/octo.repo" } }`,
      allow: false,
    },
    { name: "regex is anchored at both ends", match: `{ ref: { regex: "heads/main" } }`, allow: false },
    { name: "regex full match", match: `{ ref: { regex: "refs/heads/(main|master)" } }`, allow: true },
    { name: "in", match: `{ event_name: { in: [push, workflow_dispatch] } }`, allow: true },
    { name: "in does not match others", match: `{ event_name: { in: [workflow_dispatch] } }`, allow: false },
    { name: "not in", match: `{ actor: { not: { in: ["dependabot[bot]"] } } }`, allow: true },
    {
      name: "not on a missing claim never matches",
      match: `{ environment: { not: production } }`,
      allow: false,
    },
    { name: "a missing claim never matches", match: `{ environment: production }`, allow: false },
    {
      name: "JSON pointer into nested claims",
      match: `{ /kubernetes.io/namespace: payments }`,
      fixture: "kubernetes-projected",
      allow: true,
    },
    {
      name: "JSON pointer deeper",
      match: `{ /kubernetes.io/serviceaccount/uid: 3d4e5f6a-0000-4000-8000-000000000003 }`,
      fixture: "kubernetes-projected",
      allow: true,
    },
    {
      name: "a dotted name is one claim, not a path",
      match: `{ kubernetes.io: payments }`,
      fixture: "kubernetes-projected",
      allow: false,
    },
    {
      name: "JSON pointer into an array",
      match: `{ /aud/0: https://broker.example.com }`,
      fixture: "kubernetes-projected",
      allow: true,
    },
    {
      name: "an array claim does not match a string",
      match: `{ aud: https://broker.example.com }`,
      fixture: "kubernetes-projected",
      allow: false,
    },
    {
      name: "an object claim does not match a string",
      match: `{ kubernetes.io: "[object Object]" }`,
      fixture: "kubernetes-projected",
      allow: false,
    },
    { name: "__proto__ does not reach the prototype", match: `{ /__proto__/toString: x }`, allow: false },
    { name: "constructor is not a claim", match: `{ constructor: { not: x } }`, allow: false },
    { name: "every entry must hold", match: `{ repository_id: "74", ref: refs/heads/dev }`, allow: false },
    {
      name: "homoglyph is not equal (Cyrillic о)",
      match: `{ repository_owner: "\u043ecto-org" }`,
      allow: false,
    },
  ];
  for (const row of rows) {
    it(`${row.name} → ${row.allow ? "allow" : "deny"}`, () => {
      const set = policies(policy("p", row.match));
      const d = decide(set, who(row.fixture ?? "github-actions-branch", "github", row.over), req(), LIMITS);
      assert.equal(d.allow, row.allow, JSON.stringify(d.trace));
    });
  }
});

describe("decision", () => {
  it("denies when the provider differs", () => {
    const set = policies(policy("p", `{ repository_id: "74" }`));
    const d = decide(set, who("github-actions-branch", "gitlab"), req(), LIMITS);
    assert.equal(d.allow, false);
    assert.equal(!d.allow && d.code, "no_policy");
  });

  it("the first admitting policy by name wins", () => {
    const set = policies(
      policy("zeta", `{ repository_id: "74" }`) + policy("alpha", `{ repository_owner_id: "65" }`),
    );
    const d = decide(set, who("github-actions-branch"), req(), LIMITS);
    assert.ok(d.allow);
    assert.equal(d.grant.policy, "alpha");
  });

  it("skips an admitting policy without the target for one that has it", () => {
    const set = policies(
      policy("alpha", `{ repository_id: "74" }`, "", "[{ audience: other }]") +
        policy("beta", `{ repository_id: "74" }`),
    );
    const d = decide(set, who("github-actions-branch"), req(), LIMITS);
    assert.ok(d.allow);
    assert.equal(d.grant.policy, "beta");
  });

  it("admitted but no target → invalid_target; wrong scope → invalid_scope", () => {
    const set = policies(policy("p", `{ repository_id: "74" }`));
    const t = decide(set, who("github-actions-branch"), req({ audience: "nope" }), LIMITS);
    assert.equal(!t.allow && t.code, "invalid_target");
    const s = decide(set, who("github-actions-branch"), req({ scopes: ["a", "c"] }), LIMITS);
    assert.equal(!s.allow && s.code, "invalid_scope");
  });

  it("grants defaultScopes when none are requested and the request's subset otherwise", () => {
    const set = policies(policy("p", `{ repository_id: "74" }`));
    const d1 = decide(set, who("github-actions-branch"), req(), LIMITS);
    assert.deepEqual(d1.allow && d1.grant.scopes, ["a"]);
    const d2 = decide(set, who("github-actions-branch"), req({ scopes: ["b"] }), LIMITS);
    assert.deepEqual(d2.allow && d2.grant.scopes, ["b"]);
  });

  it("AWS and Kubernetes targets take no scope; GCP scopes come from gcp.scopes", () => {
    const targets = `[{ audience: aws, aws: { roleArn: "arn:aws:iam::123456789012:role/r" } }, { audience: gcp, gcp: { serviceAccount: sa@p.iam.gserviceaccount.com, scopes: [s1, s2] } }]`;
    const set = policies(policy("p", `{ repository_id: "74" }`, "", targets));
    const aws = decide(set, who("github-actions-branch"), req({ audience: "aws", scopes: ["x"] }), LIMITS);
    assert.equal(!aws.allow && aws.code, "invalid_scope");
    const gcpAll = decide(set, who("github-actions-branch"), req({ audience: "gcp" }), LIMITS);
    assert.deepEqual(gcpAll.allow && gcpAll.grant.scopes, ["s1", "s2"]);
    const gcpOne = decide(
      set,
      who("github-actions-branch"),
      req({ audience: "gcp", scopes: ["s2"] }),
      LIMITS,
    );
    assert.deepEqual(gcpOne.allow && gcpOne.grant.scopes, ["s2"]);
    const gcpBad = decide(
      set,
      who("github-actions-branch"),
      req({ audience: "gcp", scopes: ["s3"] }),
      LIMITS,
    );
    assert.equal(!gcpBad.allow && gcpBad.code, "invalid_scope");
  });

  it("renders subject and claims templates; a missing template claim denies", () => {
    const yaml = policy("p", `{ repository_id: "74" }`).replace(
      "grant: {",
      `grant: { subject: "gh:{{claims.repository}}:{{claims./job_workflow_ref}}", claims: { env: "{{claims.environment}}" },`,
    );
    const set = policies(yaml);
    const denied = decide(set, who("github-actions-branch"), req(), LIMITS);
    assert.equal(!denied.allow && denied.code, "template");
    const allowed = decide(set, who("github-actions-environment"), req(), LIMITS);
    assert.ok(allowed.allow);
    assert.equal(
      allowed.grant.subject,
      "gh:octo-org/octo-repo:octo-org/octo-repo/.github/workflows/deploy.yml@refs/heads/main",
    );
    assert.deepEqual(allowed.grant.claims, { env: "production" });
  });

  it("defaults the subject to <provider>:<sub>", () => {
    const d = decide(
      policies(policy("p", `{ repository_id: "74" }`)),
      who("github-actions-branch"),
      req(),
      LIMITS,
    );
    assert.equal(d.allow && d.grant.subject, "github:repo:octo-org/octo-repo:ref:refs/heads/main");
  });

  it("lifetime is min(target ttl ?? policy ttl ?? default, maxTtl)", () => {
    const yaml = policy(
      "p",
      `{ repository_id: "74" }`,
      "",
      "[{ audience: t }, { audience: short, ttl: 5m }]",
    ).replace("grant: {", "grant: { ttl: 2h,");
    const set = policies(yaml);
    const d1 = decide(set, who("github-actions-branch"), req(), LIMITS);
    assert.equal(d1.allow && d1.grant.ttl, 3600);
    const d2 = decide(set, who("github-actions-branch"), req({ audience: "short" }), LIMITS);
    assert.equal(d2.allow && d2.grant.ttl, 300);
    const d3 = decide(
      policies(policy("q", `{ repository_id: "74" }`)),
      who("github-actions-branch"),
      req(),
      LIMITS,
    );
    assert.equal(d3.allow && d3.grant.ttl, 900);
  });

  it("client_id selects the policy of that name (RFC 7523 §2.2)", () => {
    const set = policies(
      policy("alpha", `{ repository_id: "74" }`) + policy("beta", `{ repository_id: "74" }`),
    );
    const d = decide(set, who("github-actions-branch"), req({ clientId: "beta" }), LIMITS);
    assert.equal(d.allow && d.grant.policy, "beta");
    const none = decide(set, who("github-actions-branch"), req({ clientId: "gamma" }), LIMITS);
    assert.equal(none.allow, false);
  });

  it("explain traces every policy and names each failing check", () => {
    const set = policies(
      policy("a-branch", `{ repository_id: "74", ref: refs/heads/dev, event_name: pull_request }`) +
        policy("b-gitlab", `{ project_id: "20" }`, "", undefined, "gitlab"),
    );
    const d = explain(set, who("github-actions-branch"), req(), LIMITS);
    assert.equal(d.allow, false);
    assert.equal(d.trace.length, 2);
    const failing = d.trace[0]?.checks.filter((c) => !c.ok).map((c) => c.check);
    assert.deepEqual(failing, ["match.ref", "match.event_name"]);
    assert.equal(d.trace[1]?.checks[0]?.check, "provider");
    // explain (offline, for the operator) shows the values; decide (audit, HTTP errors) never does.
    const ref = d.trace[0]?.checks.find((c) => c.check === "match.ref");
    assert.deepEqual([ref?.expected, ref?.actual], ['"refs/heads/dev"', '"refs/heads/main"']);
    const decided = decide(set, who("github-actions-branch"), req(), LIMITS);
    assert.ok(!JSON.stringify(decided).includes("refs/heads/main"), "no claim values in decide's trace");
  });
});

describe("policy index", () => {
  it("finds the one matching policy among thousands, and still checks unindexed ones", () => {
    let yaml = "";
    for (let i = 0; i < 2000; i++)
      yaml += policy(
        `repo-${String(i).padStart(4, "0")}`,
        `{ repository_owner_id: "${i}", repository_id: "${i + 9}" }`,
      );
    yaml += policy("wildcard", `{ ref: { glob: "refs/heads/*" }, actor: nobody }`);
    const set = policies(yaml);
    const d = decide(set, who("github-actions-branch"), req(), LIMITS);
    assert.equal(d.allow && d.grant.policy, "repo-0065", JSON.stringify(d.trace.map((t) => t.policy)));
    assert.ok(d.trace.length <= 2, `looked at ${d.trace.length} policies`);
    assert.ok(d.trace.some((t) => t.policy === "repo-0065"));
  });

  it("an index on one claim never admits a policy whose other entries fail", () => {
    const set = policies(policy("p", `{ repository_owner_id: "65", repository_id: "999" }`));
    assert.equal(decide(set, who("github-actions-branch"), req(), LIMITS).allow, false);
  });

  it("indexes `in` lists by each value", () => {
    const set = policies(policy("p", `{ repository_owner_id: { in: ["1", "65"] } }`));
    assert.ok(decide(set, who("github-actions-branch"), req(), LIMITS).allow);
  });
});
