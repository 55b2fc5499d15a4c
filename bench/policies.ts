/**
 * N GitHub-style policies shaped like a large organisation's: each pinned to its own owner/repository IDs; `ref`
 * globs drawn from a few common patterns; a pinned `job_workflow_ref` (exact) on most, a regex unique to the policy
 * on every tenth; templates on all. Policy `bench-target` admits the bench token.
 */
const REF_GLOBS = ["refs/heads/*", "refs/heads/main", "refs/tags/v*", "refs/heads/release/**"];

export function benchPolicies(n: number): string {
  const docs: string[] = [];
  for (let i = 0; i < n; i++) {
    const target = i === Math.floor(n / 2);
    const workflow =
      i % 10 === 0 && !target
        ? `{ regex: "org-${i}/repo-${i}/\\\\.github/workflows/[a-z]+\\\\.yml@refs/(heads/main|tags/v[0-9]+)" }`
        : target
          ? `"octo-org/octo-repo/.github/workflows/deploy.yml@refs/heads/main"`
          : `"org-${i}/repo-${i}/.github/workflows/deploy.yml@refs/heads/main"`;
    docs.push(`apiVersion: wif-broker/v1
kind: TrustPolicy
metadata: { name: ${target ? "bench-target" : `bench-${String(i).padStart(6, "0")}`} }
spec:
  provider: github
  match:
    repository_owner_id: "${target ? 65 : 100000 + i}"
    repository_id: "${target ? 74 : 200000 + i}"
    ref: { glob: "${target ? "refs/heads/*" : REF_GLOBS[i % REF_GLOBS.length]}" }
    event_name: { in: [push, workflow_dispatch] }
    job_workflow_ref: ${workflow}
  grant:
    ttl: 15m
    subject: "github:{{claims.repository}}"
    claims: { repo: "{{claims.repository}}", sha: "{{claims.sha}}" }
    targets:
      - audience: https://deploy.acme.internal
        scopes: [deploy:read, deploy:write]
        defaultScopes: [deploy:read]
`);
  }
  return docs.join("---\n");
}

/** Claims of the token every benchmark presents (admitted by `bench-target`). */
export const BENCH_CLAIMS = {
  aud: "https://broker.example.com",
  sub: "repo:octo-org/octo-repo:ref:refs/heads/main",
  repository: "octo-org/octo-repo",
  repository_owner_id: "65",
  repository_id: "74",
  ref: "refs/heads/main",
  event_name: "push",
  job_workflow_ref: "octo-org/octo-repo/.github/workflows/deploy.yml@refs/heads/main",
  sha: "d6fde92930d4715a2b49857d24b940956b26d2d3",
};

/** As the container image runs the broker (Dockerfile NODE_OPTIONS): V8 otherwise keeps a 128 MiB young generation. */
export const SEMI_SPACE = "--max-semi-space-size=16";
