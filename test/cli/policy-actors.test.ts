import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { runCli } from "../helpers/cli.ts";
import { fixtureClaims } from "../helpers/fixtures.ts";

const POLICY = `apiVersion: wif-broker/v1
kind: TrustPolicy
metadata: { name: agent-for-support }
spec:
  provider: corp
  match: { tenant_id: "acme-1" }
  actors:
    - provider: prod-cluster
      match: { /kubernetes.io/serviceaccount/uid: "3d4e5f6a-0000-4000-8000-000000000003" }
      condition: subject.department == "support"
  grant: { targets: [{ audience: https://mcp.acme.internal }] }
`;
/** A config naming the two providers (CONTRACT §6: policy commands resolve provider names through it). */
function config(dir: string): string {
  const file = join(mkdtempSync(join(tmpdir(), "wif-actors-config-")), "wif-broker.yaml");
  writeFileSync(
    file,
    JSON.stringify({
      policies: dir,
      providers: [
        { name: "corp", issuer: "https://login.acme.example" },
        { name: "prod-cluster", issuer: "https://oidc.prod-cluster.example.com" },
      ],
    }),
  );
  return file;
}

const SUBJECT = { sub: "user-42", tenant_id: "acme-1", department: "support" };
const ACTOR = fixtureClaims("kubernetes-projected", { iss: "https://oidc.prod-cluster.example.com" });

describe("policy test and policy explain with an actor (CONTRACT §6, §9)", () => {
  it("fixtures take an actor block; the decision's act is what the token would carry", () => {
    const dir = mkdtempSync(join(tmpdir(), "wif-actors-"));
    writeFileSync(join(dir, "p.yaml"), POLICY);
    const cases = [
      {
        name: "agent acts for support",
        provider: "corp",
        claims: SUBJECT,
        actor: { provider: "prod-cluster", claims: ACTOR },
        request: { audience: "https://mcp.acme.internal" },
        expect: "allow",
        policy: "agent-for-support",
      },
      {
        name: "another service account is refused",
        provider: "corp",
        claims: SUBJECT,
        actor: {
          provider: "prod-cluster",
          claims: { ...ACTOR, "kubernetes.io": { serviceaccount: { uid: "x" } } },
        },
        request: { audience: "https://mcp.acme.internal" },
        expect: "deny",
      },
      {
        name: "the actor's condition sees the subject",
        provider: "corp",
        claims: { ...SUBJECT, department: "sales" },
        actor: { provider: "prod-cluster", claims: ACTOR },
        request: { audience: "https://mcp.acme.internal" },
        expect: "deny",
      },
    ];
    writeFileSync(join(dir, "p.test.yaml"), JSON.stringify(cases));
    const r = runCli(["policy", "test", dir, "--config", config(dir)]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /3 passed, 0 failed/);
    assert.match(r.stdout, /denied \(policy\.actor_not_admitted\)/);
  });

  it("explain names the actor checks and prints the act chain", () => {
    const dir = mkdtempSync(join(tmpdir(), "wif-actors-"));
    writeFileSync(join(dir, "p.yaml"), POLICY);
    writeFileSync(join(dir, "subject.json"), JSON.stringify(SUBJECT));
    writeFileSync(join(dir, "actor.json"), JSON.stringify(ACTOR));
    const r = runCli([
      "policy",
      "explain",
      "--claims",
      join(dir, "subject.json"),
      "--provider",
      "corp",
      "--actor-claims",
      join(dir, "actor.json"),
      "--actor-provider",
      "prod-cluster",
      "--audience",
      "https://mcp.acme.internal",
      "--policies",
      dir,
      "--config",
      config(dir),
    ]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(
      r.stdout,
      /ALLOW by agent-for-support: .*act \{"iss":"https:\/\/oidc\.prod-cluster\.example\.com","sub":"system:serviceaccount:payments:api"\}/,
    );
    assert.match(r.stdout, /ok {3}actors\[0\]\.condition/);
    const denied = runCli([
      "policy",
      "explain",
      "--claims",
      join(dir, "subject.json"),
      "--provider",
      "corp",
      "--actor-claims",
      join(dir, "subject.json"),
      "--actor-provider",
      "corp",
      "--audience",
      "https://mcp.acme.internal",
      "--policies",
      dir,
      "--config",
      config(dir),
    ]);
    assert.equal(denied.code, 1);
    assert.match(denied.stdout, /FAIL actors\[0\]\.provider: actor token is from another provider/);
  });
});
