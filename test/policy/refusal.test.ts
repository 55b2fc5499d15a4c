import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decide } from "../../src/policy/evaluate.ts";
import { compilePolicyFiles } from "../../src/policy/parse.ts";
import { fixtureClaims } from "../helpers/fixtures.ts";

const LIMITS = { maxTtl: 3600, defaultTtl: 900 };
const PROVIDERS = [
  { name: "github", issuer: "https://github.issuer.test" },
  { name: "cluster", issuer: "https://cluster.issuer.test" },
];
const { set, problems } = compilePolicyFiles(
  [
    {
      path: "p.yaml",
      text: `apiVersion: wif-broker/v1
kind: TrustPolicy
metadata: { name: deployer }
spec:
  provider: github
  match: { repository_id: "74" }
  actors: [{ provider: cluster, match: { /kubernetes.io/namespace: agents } }]
  grant: { targets: [{ audience: t, scopes: [read, write] }, { audience: plain }] }
`,
    },
  ],
  { providers: PROVIDERS },
);
const claims = fixtureClaims("github-actions-branch");
const who = { provider: "github", subject: String(claims.sub), claims };
const req = (over: Record<string, unknown>) => ({
  audience: "t",
  scopes: null,
  sourceIp: undefined,
  now: Date.now(),
  ...over,
});

/** What a refusal after admission tells the exchange: the policy, the refused scopes, one detail said once. */
describe("a refusal after admission", () => {
  it("loads", () => assert.deepEqual(problems, []));

  it("invalid_scope names the policy and only the scopes outside the target's", () => {
    const d = decide(set, who, req({ scopes: ["read", "admin", "root"] }), LIMITS);
    assert.equal(d.allow, false);
    if (d.allow) return;
    assert.equal(d.code, "invalid_scope");
    assert.equal(d.policy, "deployer");
    assert.deepEqual(d.refusedScopes, ["admin", "root"]);
  });

  it("a target that takes no scopes refuses every requested scope by name", () => {
    const d = decide(set, who, req({ audience: "plain", scopes: ["read"] }), LIMITS);
    assert.ok(!d.allow && d.code === "invalid_scope");
    assert.deepEqual(d.refusedScopes, ["read"]);
  });

  it("invalid_target names the policy; no policy admitting → none named", () => {
    const d = decide(set, who, req({ audience: "elsewhere" }), LIMITS);
    assert.ok(!d.allow && d.code === "invalid_target" && d.policy === "deployer");
    const none = decide(set, { ...who, claims: { ...claims, repository_id: "1" } }, req({}), LIMITS);
    assert.ok(!none.allow && none.code === "no_policy" && none.policy === undefined);
  });

  it("an actor refusal says the policy's name once", () => {
    const actor = { provider: "cluster", subject: "system:serviceaccount:other:x", claims: {} };
    const d = decide(set, who, req({ actor }), LIMITS);
    assert.ok(!d.allow && d.code === "actor");
    assert.match(d.detail, /^deployer: actor/);
    assert.doesNotMatch(d.detail, /deployer: deployer/);
  });
});
