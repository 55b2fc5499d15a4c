/** Generates N GitHub-style policies, each pinned to its own owner/repository IDs; policy `bench-target` matches the bench token. */
export function benchPolicies(n: number): string {
  const docs: string[] = [];
  for (let i = 0; i < n; i++) {
    const target = i === Math.floor(n / 2);
    docs.push(`apiVersion: wif-broker/v1
kind: TrustPolicy
metadata: { name: ${target ? "bench-target" : `bench-${String(i).padStart(6, "0")}`} }
spec:
  provider: github
  match:
    repository_owner_id: "${target ? 65 : 100000 + i}"
    repository_id: "${target ? 74 : 200000 + i}"
    ref: { glob: "refs/heads/*" }
    event_name: { in: [push, workflow_dispatch] }
    job_workflow_ref: { regex: "octo-org/octo-repo/\\\\.github/workflows/[a-z]+\\\\.yml@refs/heads/main" }
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
