import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parse as parseYaml } from "yaml";
import { LINT_RULES, type LintContext, lintPolicy } from "../../src/policy/lint.ts";
import { policySchema, type TrustPolicy } from "../../src/policy/schema.ts";

const GITHUB = "https://token.actions.githubusercontent.com";
const NO_CONFIG: LintContext = { providerIssuers: new Map() };
const CONFIG: LintContext = {
  providerIssuers: new Map([
    ["github", GITHUB],
    ["gitlab", "https://gitlab.com"],
    ["gitlab-internal", "https://gitlab.acme.internal"],
    ["ci", `${GITHUB}/`],
    ["ghes", "https://github.acme.internal/_services/token"],
    ["ghec", `${GITHUB}/acme-corp`],
    ["google", "https://accounts.google.com"],
    ["prod-cluster", "https://oidc.prod-cluster.example.com"],
  ]),
};

function load(yaml: string): TrustPolicy {
  return policySchema.parse(parseYaml(yaml));
}

/** A policy with the given provider, `match` (YAML) and, optionally, `grant` (YAML). */
function policy(
  provider: string | string[],
  match: string,
  grant = "targets: [{ audience: https://deploy.acme.internal }]",
): TrustPolicy {
  return policySchema.parse({
    apiVersion: "wif-broker/v1",
    kind: "TrustPolicy",
    metadata: { name: "under-test" },
    spec: { provider, match: parseYaml(match) ?? {}, grant: parseYaml(grant) },
  });
}

const findings = (p: TrustPolicy, ctx: LintContext = NO_CONFIG) =>
  lintPolicy(p, ctx).map((f) => `${f.rule} ${f.path}`);

/** GitHub, pinned the way a production policy should be. Variants below change one thing. */
const PINNED_GITHUB = `
repository_owner_id: "65"
repository_id: "74"
job_workflow_ref: octo-org/shared-workflows/.github/workflows/release.yml@refs/tags/v3
event_name: { in: [push, workflow_dispatch] }
ref: { glob: "refs/tags/*" }
`;

describe("lintPolicy: well-pinned policies have no findings", () => {
  const clean: Array<{ name: string; policy: TrustPolicy; ctx?: LintContext }> = [
    {
      name: "production GitHub deploy (the contract's example, pinned by IDs)",
      policy: load(`
apiVersion: wif-broker/v1
kind: TrustPolicy
metadata: { name: acme-app-deploy, description: Production deploys of acme/app from protected refs }
spec:
  provider: github
  match:
    repository_owner_id: "1342004"
    repository_id: "892834"
    ref: { glob: "refs/heads/release/*" }
    job_workflow_ref: { regex: "acme/shared/\\\\.github/workflows/deploy\\\\.yml@refs/tags/v[0-9]+" }
    event_name: { in: [push, workflow_dispatch] }
    actor: { not: { in: ["dependabot[bot]"] } }
  condition: claims.run_attempt == "1" && claims.ref_type == "tag"
  access:
    sourceCidrs: [10.0.0.0/8]
    schedule: { timezone: Europe/Berlin, days: [Mon, Tue, Wed, Thu, Fri], from: "07:00", to: "19:00" }
  grant:
    ttl: 15m
    subject: "github:{{claims.repository}}"
    targets:
      - audience: https://deploy.acme.internal
        scopes: [deploy:read, deploy:write]
        defaultScopes: [deploy:read]
      - audience: aws-prod-deploy
        aws: { roleArn: "arn:aws:iam::123456789012:role/deploy", duration: 1h }
      - audience: gcp-deployer
        gcp: { serviceAccount: deployer@acme-prod.iam.gserviceaccount.com, lifetime: 10m }
`),
    },
    {
      name: "the same match, with the config naming the issuer",
      policy: policy("github", PINNED_GITHUB),
      ctx: CONFIG,
    },
    {
      name: "GitHub's immutable sub carries both IDs",
      policy: policy(
        "github",
        `
sub: "repo:octo-org@65/octo-repo@74:ref:refs/heads/main"
job_workflow_ref: octo-org/octo-repo/.github/workflows/deploy.yml@refs/heads/main`,
      ),
    },
    {
      name: "GitLab.com pinned by namespace and project ID",
      policy: policy(
        "gitlab",
        `
namespace_id: "72"
project_id: "20"
ref_protected: "true"
environment: production`,
      ),
      ctx: CONFIG,
    },
    {
      name: "Kubernetes pinned by service account UID",
      policy: policy(
        "prod-cluster",
        `
sub: system:serviceaccount:payments:api
/kubernetes.io/serviceaccount/uid: 3d4e5f6a-0000-4000-8000-000000000003`,
      ),
      ctx: CONFIG,
    },
    {
      name: "Google pinned by the service account's unique ID",
      policy: policy("google", `sub: "108234567890123456789"\nemail_verified: true`),
      ctx: CONFIG,
    },
    {
      name: "a single-tenant issuer named by config",
      policy: policy("gitlab-internal", 'project_path: mygroup/myproject\nproject_id: "20"'),
      ctx: CONFIG,
    },
  ];
  for (const c of clean) {
    it(c.name, () => assert.deepEqual(lintPolicy(c.policy, c.ctx ?? NO_CONFIG), []));
  }
});

describe("lintPolicy: rules", () => {
  const cases: Array<{ name: string; policy: TrustPolicy; ctx?: LintContext; expect: string[] }> = [
    // multi-tenant-unpinned
    {
      name: "GitHub by name, nothing pins the owner",
      policy: policy(
        "github",
        "job_workflow_ref: octo-org/octo-repo/.github/workflows/d.yml@refs/heads/main\nref: refs/heads/main",
      ),
      expect: ["multi-tenant-unpinned spec.match"],
    },
    {
      name: "the issuer decides, not the provider's name (trailing slash too)",
      policy: policy("ci", "job_workflow_ref: octo-org/octo-repo/.github/workflows/d.yml@refs/heads/main"),
      ctx: CONFIG,
      expect: ["multi-tenant-unpinned spec.match"],
    },
    {
      name: "an owner ID matched by glob does not pin it",
      policy: policy(
        "github",
        `repository_owner_id: { glob: "6*" }\njob_workflow_ref: o/r/.github/workflows/d.yml@refs/heads/main`,
      ),
      expect: ["multi-tenant-unpinned spec.match"],
    },
    {
      name: "an immutable sub regex pins the owner",
      policy: policy(
        "github",
        'sub: { regex: "repo:octo-org@65/octo-repo@74:ref:refs/tags/v[0-9]+" }\nrepository_id: "74"',
      ),
      expect: [],
    },
    {
      name: "an immutable sub regex whose owner ID is not fixed does not",
      policy: policy(
        "github",
        'sub: { regex: "repo:octo-org@65/?octo-repo@74:.*" }\njob_workflow_ref: o/r/.github/workflows/d.yml@refs/heads/main',
      ),
      expect: ["multi-tenant-unpinned spec.match", "name-without-id spec.match.sub"],
    },
    {
      name: "a provider list is checked per provider",
      policy: policy(
        ["github", "prod-cluster"],
        "job_workflow_ref: o/r/.github/workflows/d.yml@refs/heads/main",
      ),
      ctx: CONFIG,
      expect: ["multi-tenant-unpinned spec.match"],
    },
    {
      name: "GitLab.com",
      policy: policy("gitlab", 'ref: main\nref_protected: "true"'),
      expect: ["multi-tenant-unpinned spec.match"],
    },
    {
      name: "Google's shared issuer",
      policy: policy("google", "email_verified: true"),
      ctx: CONFIG,
      expect: ["multi-tenant-unpinned spec.match"],
    },
    {
      name: "GitHub Enterprise Server is single-tenant",
      policy: policy("ghes", "ref: refs/heads/main"),
      ctx: CONFIG,
      expect: [],
    },
    {
      name: "GitHub Enterprise Cloud's enterprise issuer is single-tenant",
      policy: policy("ghec", "ref: refs/heads/main"),
      ctx: CONFIG,
      expect: [],
    },
    {
      name: "an unknown provider name without config",
      policy: policy("internal", "ref: refs/heads/main"),
      expect: [],
    },
    {
      name: "an owner ID in a short list pins it",
      policy: policy(
        "github",
        `repository_owner_id: { in: ["65", "66"] }\njob_workflow_ref: o/r/.github/workflows/d.yml@refs/heads/main`,
      ),
      expect: [],
    },
    // wildcard-only
    {
      name: "only globs, regexes and nots",
      policy: policy(
        "internal",
        'environment: { glob: "prod-*" }\nref: { regex: "refs/heads/.*" }\nactor: { not: bot }',
      ),
      expect: ["wildcard-only spec.match"],
    },
    { name: "an empty match", policy: policy("internal", ""), expect: ["wildcard-only spec.match"] },
    {
      name: "a glob without a wildcard is exact",
      policy: policy("internal", 'environment: { glob: "production" }\nref: { regex: "refs/heads/.*" }'),
      expect: [],
    },
    // dangerous-event
    {
      name: "pull_request_target named",
      policy: policy(
        "github",
        `${PINNED_GITHUB.replace(/event_name:.*/, "event_name: pull_request_target")}`,
      ),
      expect: ["dangerous-event spec.match.event_name"],
    },
    {
      name: "workflow_run in a list",
      policy: policy(
        "github",
        PINNED_GITHUB.replace(/event_name:.*/, "event_name: { in: [push, workflow_run] }"),
      ),
      expect: ["dangerous-event spec.match.event_name"],
    },
    {
      name: "a glob that admits pull_request_target",
      policy: policy(
        "github",
        PINNED_GITHUB.replace(/event_name:.*/, 'event_name: { glob: "pull_request*" }'),
      ),
      expect: ["dangerous-event spec.match.event_name"],
    },
    {
      name: "a not that admits both",
      policy: policy("github", PINNED_GITHUB.replace(/event_name:.*/, "event_name: { not: pull_request }")),
      expect: ["dangerous-event spec.match.event_name", "dangerous-event spec.match.event_name"],
    },
    {
      name: "a not that excludes both",
      policy: policy(
        "github",
        PINNED_GITHUB.replace(
          /event_name:.*/,
          "event_name: { not: { in: [pull_request_target, workflow_run] } }",
        ),
      ),
      expect: [],
    },
    // reusable-workflow-unpinned
    {
      name: "workflow_ref without job_workflow_ref",
      policy: policy(
        "github",
        PINNED_GITHUB.replace(
          /job_workflow_ref:.*/,
          "workflow_ref: octo-org/octo-repo/.github/workflows/deploy.yml@refs/heads/main",
        ),
      ),
      expect: ["reusable-workflow-unpinned spec.match.workflow_ref"],
    },
    {
      name: "workflow (a display name) without job_workflow_ref",
      policy: policy("github", PINNED_GITHUB.replace(/job_workflow_ref:.*/, "workflow: deploy")),
      expect: ["reusable-workflow-unpinned spec.match.workflow"],
    },
    {
      name: "workflow_ref next to job_workflow_ref",
      policy: policy("github", `${PINNED_GITHUB}workflow_ref: { glob: "octo-org/octo-repo/**" }`),
      expect: [],
    },
    {
      name: "a customised sub that includes job_workflow_ref",
      policy: policy(
        "github",
        `repository_owner_id: "65"\nrepository_id: "74"\nworkflow: deploy\nsub: "repo:octo-org/octo-repo:job_workflow_ref:octo-org/shared/.github/workflows/d.yml@refs/tags/v3"`,
      ),
      expect: [],
    },
    // k8s-name-without-uid
    {
      name: "service account by sub",
      policy: policy("prod-cluster", "sub: system:serviceaccount:payments:api"),
      ctx: CONFIG,
      expect: ["k8s-name-without-uid spec.match.sub"],
    },
    {
      name: "service accounts by sub glob",
      policy: policy(
        "prod-cluster",
        'sub: { glob: "system:serviceaccount:payments:*" }\n/kubernetes.io/namespace: payments',
      ),
      ctx: CONFIG,
      expect: ["k8s-name-without-uid spec.match.sub"],
    },
    {
      name: "service account by nested name",
      policy: policy(
        "prod-cluster",
        "/kubernetes.io/namespace: payments\n/kubernetes.io/serviceaccount/name: api",
      ),
      ctx: CONFIG,
      expect: ["k8s-name-without-uid spec.match./kubernetes.io/namespace"],
    },
    {
      name: "a namespace by name",
      policy: policy("prod-cluster", "/kubernetes.io/namespace: ci"),
      ctx: CONFIG,
      expect: ["k8s-name-without-uid spec.match./kubernetes.io/namespace"],
    },
    // ttl-over-hour
    {
      name: "grant, target and cloud lifetimes over an hour",
      policy: policy(
        "github",
        PINNED_GITHUB,
        `
ttl: 2h
targets:
  - { audience: https://deploy.acme.internal, ttl: 61m }
  - { audience: aws-prod, aws: { roleArn: "arn:aws:iam::123456789012:role/deploy", duration: 12h } }
  - { audience: gcp, gcp: { serviceAccount: d@p.iam.gserviceaccount.com, lifetime: 3h } }
  - { audience: k8s, kubernetes: { cluster: prod, namespace: ci, serviceAccount: deployer, expiration: 24h } }
  - { audience: fine, ttl: 1h }`,
      ),
      expect: [
        "ttl-over-hour spec.grant.ttl",
        "ttl-over-hour spec.grant.targets[0].ttl",
        "ttl-over-hour spec.grant.targets[1].aws.duration",
        "ttl-over-hour spec.grant.targets[2].gcp.lifetime",
        "ttl-over-hour spec.grant.targets[3].kubernetes.expiration",
      ],
    },
    // github-broad-token
    {
      name: "a GitHub token that can administer repositories, and one for every repository of an owner",
      policy: policy(
        "github",
        PINNED_GITHUB,
        `
targets:
  - { audience: gh-admin, github: { owner: acme, repositories: [app], permissions: { administration: write } } }
  - { audience: gh-all, github: { owner: acme, permissions: { contents: read } } }
  - { audience: gh-narrow, github: { owner: acme, repositories: [app], permissions: { contents: write, administration: read } } }`,
      ),
      expect: [
        "github-broad-token spec.grant.targets[0].github.permissions.administration",
        "github-broad-token spec.grant.targets[1].github.repositories",
      ],
    },
    // name-without-id
    {
      name: "repository by name",
      policy: policy(
        "github",
        PINNED_GITHUB.replace('repository_id: "74"', "repository: octo-org/octo-repo"),
      ),
      expect: ["name-without-id spec.match.repository"],
    },
    {
      name: "owner by name (the re-registered organisation)",
      policy: policy(
        "github",
        PINNED_GITHUB.replace('repository_owner_id: "65"', "repository_owner: octo-org"),
      ),
      expect: ["name-without-id spec.match.repository_owner"],
    },
    {
      name: "actor by name",
      policy: policy("github", `${PINNED_GITHUB}actor: octocat`),
      expect: ["name-without-id spec.match.actor"],
    },
    {
      name: "actor by name and ID",
      policy: policy("github", `${PINNED_GITHUB}actor: octocat\nactor_id: "12"`),
      expect: [],
    },
    {
      name: "the legacy GitHub sub names the repository",
      policy: policy(
        "github",
        'sub: "repo:octo-org/octo-repo:ref:refs/heads/main"\njob_workflow_ref: o/r/.github/workflows/d.yml@refs/heads/main',
      ),
      expect: ["multi-tenant-unpinned spec.match", "name-without-id spec.match.sub"],
    },
    {
      name: "the GitLab sub names the project",
      policy: policy("gitlab", 'namespace_id: "72"\nsub: { glob: "project_path:mygroup/myproject:*" }'),
      expect: ["name-without-id spec.match.sub"],
    },
    {
      name: "project_path and namespace_path by name",
      policy: policy("gitlab-internal", "project_path: mygroup/myproject\nnamespace_path: mygroup"),
      ctx: CONFIG,
      expect: ["name-without-id spec.match.project_path", "name-without-id spec.match.namespace_path"],
    },
  ];
  for (const c of cases) {
    it(c.name, () => assert.deepEqual(findings(c.policy, c.ctx).sort(), [...c.expect].sort()));
  }

  it("every rule in the table is exercised above", () => {
    const seen = new Set(cases.flatMap((c) => c.expect.map((e) => e.split(" ")[0])));
    assert.deepEqual([...seen].sort(), LINT_RULES.map((r) => r.id).sort());
  });

  it("CONTRACT §5: an unpinned multi-tenant issuer and a wildcard-only match are errors, the rest warnings", () => {
    const severity = Object.fromEntries(LINT_RULES.map((r) => [r.id, r.severity]));
    assert.deepEqual(severity, {
      "multi-tenant-unpinned": "error",
      "wildcard-only": "error",
      "dangerous-event": "warning",
      "reusable-workflow-unpinned": "warning",
      "k8s-name-without-uid": "warning",
      "ttl-over-hour": "warning",
      "name-without-id": "warning",
      "github-broad-token": "warning",
    });
  });
});

describe("lintPolicy: messages say what to pin instead", () => {
  const messages: Array<{ policy: TrustPolicy; ctx?: LintContext; rule: string; message: RegExp }> = [
    {
      policy: policy("github", "ref: refs/heads/main"),
      rule: "multi-tenant-unpinned",
      message: /"github" issues tokens for every GitHub Actions customer.*repository_owner_id/,
    },
    {
      policy: policy("gitlab", "ref: main"),
      ctx: CONFIG,
      rule: "multi-tenant-unpinned",
      message: /"gitlab" \(https:\/\/gitlab\.com\).*namespace_id/,
    },
    {
      policy: policy("github", PINNED_GITHUB.replace(/event_name:.*/, "event_name: pull_request_target")),
      rule: "dangerous-event",
      message: /pull_request_target.*forks.*\{ in: \[push, workflow_dispatch\] \}/,
    },
    {
      policy: policy(
        "github",
        PINNED_GITHUB.replace(
          /job_workflow_ref:.*/,
          "workflow_ref: o/r/.github/workflows/d.yml@refs/heads/main",
        ),
      ),
      rule: "reusable-workflow-unpinned",
      message: /match job_workflow_ref/,
    },
    {
      policy: policy("prod-cluster", "sub: system:serviceaccount:payments:api"),
      rule: "k8s-name-without-uid",
      message: /pin \/kubernetes\.io\/serviceaccount\/uid/,
    },
    {
      policy: policy("github", PINNED_GITHUB, "ttl: 90m\ntargets: [{ audience: a }]"),
      rule: "ttl-over-hour",
      message: /lifetime 1\.5h is over one hour/,
    },
    {
      policy: policy(
        "github",
        PINNED_GITHUB.replace('repository_id: "74"', "repository: octo-org/octo-repo"),
      ),
      rule: "name-without-id",
      message: /re-registered.*pin repository_id/,
    },
  ];
  for (const m of messages) {
    it(`${m.rule}: ${m.message.source}`, () => {
      const found = lintPolicy(m.policy, m.ctx ?? NO_CONFIG).filter((f) => f.rule === m.rule);
      assert.equal(found.length, 1, JSON.stringify(found));
      assert.match(found[0]?.message ?? "", m.message);
    });
  }
});
