import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decide, explain } from "../../src/policy/evaluate.ts";
import { compilePolicyFiles, formatProblem } from "../../src/policy/parse.ts";
import { fixtureClaims } from "../helpers/fixtures.ts";

/** A gcloud-generated external_account file names the workload identity pool provider as its audience. */
const GCLOUD_AUDIENCE =
  "//iam.googleapis.com/projects/123456789/locations/global/workloadIdentityPools/ci/providers/broker";
const LIMITS = { maxTtl: 3600, defaultTtl: 900 };
const PROVIDERS = [{ name: "github", issuer: "https://github.issuer.test" }];

const policy = (name: string, targets: string) => `---
apiVersion: wif-broker/v1
kind: TrustPolicy
metadata: { name: ${name} }
spec:
  provider: github
  match: { repository_id: "74" }
  grant: { targets: ${targets} }
`;

function compile(...docs: string[]) {
  return compilePolicyFiles(
    docs.map((text, i) => ({ path: `p${i}.yaml`, text })),
    { providers: PROVIDERS },
  );
}

const claims = fixtureClaims("github-actions-branch");
const who = { provider: "github", subject: String(claims.sub), claims };
const request = (audience: string) => ({ audience, scopes: null, sourceIp: undefined, now: Date.now() });

describe("audience aliases", () => {
  const GCP = `[{ audience: gcp-deployer, aliases: ["${GCLOUD_AUDIENCE}"], scopes: [deploy] }]`;

  it("a request naming an alias is granted the target, and the grant carries the canonical audience", () => {
    const { set, problems } = compile(policy("p", GCP));
    assert.deepEqual(problems, []);
    const d = decide(set, who, request(GCLOUD_AUDIENCE), LIMITS);
    assert.ok(d.allow, JSON.stringify(d));
    assert.equal(d.grant.target.audience, "gcp-deployer");
  });

  it("aliases compare exactly: no prefix, case, trailing slash or glob matching", () => {
    const { set } = compile(policy("p", `[{ audience: a, aliases: ["//iam.googleapis.com/*"] }]`));
    for (const near of [
      GCLOUD_AUDIENCE,
      "//iam.googleapis.com/",
      "//iam.googleapis.com/*/",
      "//IAM.googleapis.com/*",
    ]) {
      const d = decide(set, who, request(near), LIMITS);
      assert.equal(d.allow, false, near);
      assert.equal(d.allow ? "" : d.code, "invalid_target");
    }
    assert.ok(decide(set, who, request("//iam.googleapis.com/*"), LIMITS).allow);
  });

  it("a policy whose target does not list the alias does not admit it, even if another policy's does", () => {
    const { set, problems } = compile(
      policy("a-with", GCP),
      policy("b-without", `[{ audience: gcp-deployer }]`),
    );
    assert.deepEqual(problems, []);
    const d = explain(set, who, request(GCLOUD_AUDIENCE), LIMITS);
    const b = d.trace.find((t) => t.policy === "b-without");
    assert.equal(b?.checks.find((c) => c.check === "target")?.ok, false);
  });

  it("the same alias on the same audience in two policies loads", () => {
    assert.deepEqual(compile(policy("a", GCP), policy("b", GCP)).problems, []);
  });

  const refusals: Array<[string, string[], RegExp]> = [
    [
      "an alias that is its own audience",
      [policy("p", `[{ audience: a, aliases: [a] }]`)],
      /p0\.yaml: spec\.grant\.targets\[0\]\.aliases\[0\]: alias "a" repeats the audience/,
    ],
    [
      "an alias listed twice on one target",
      [policy("p", `[{ audience: a, aliases: [x, x] }]`)],
      /aliases\[1\]: alias "x" repeats another alias/,
    ],
    [
      "an alias that is another target's audience in the same policy",
      [policy("p", `[{ audience: a }, { audience: b, aliases: [a] }]`)],
      /targets\[1\]\.aliases\[0\]: alias "a" of target "b" is already a name of target "a"/,
    ],
    [
      "an audience that is an earlier target's alias in the same policy",
      [policy("p", `[{ audience: a, aliases: [b] }, { audience: b }]`)],
      /targets\[1\]\.audience: audience "b" is already an alias of target "a"/,
    ],
    [
      "one alias on two targets of one policy",
      [policy("p", `[{ audience: a, aliases: [x] }, { audience: b, aliases: [x] }]`)],
      /alias "x" of target "b" is already a name of target "a"/,
    ],
    [
      "one alias on targets of different audiences in two policies (names both)",
      [policy("one", `[{ audience: a, aliases: [x] }]`), policy("two", `[{ audience: b, aliases: [x] }]`)],
      /p1\.yaml: spec\.grant\.targets\[0\]\.aliases\[0\]: alias "x" of target "b" is already an alias of target "a" of policy one \(p0\.yaml\)/,
    ],
    [
      "an alias that is another policy's audience",
      [policy("one", `[{ audience: x }]`), policy("two", `[{ audience: b, aliases: [x] }]`)],
      /p1\.yaml: .*alias "x" of target "b" is the audience of target "x" of policy one \(p0\.yaml\)/,
    ],
    [
      "an audience that is another policy's alias",
      [policy("one", `[{ audience: a, aliases: [x] }]`), policy("two", `[{ audience: x }]`)],
      /p1\.yaml: spec\.grant\.targets\[0\]\.audience: audience "x" is already an alias of target "a" of policy one/,
    ],
  ];
  for (const [name, docs, message] of refusals) {
    it(`refuses ${name}`, () => {
      const { problems, set } = compile(...docs);
      assert.ok(
        problems.some((p) => message.test(formatProblem(p))),
        problems.map(formatProblem).join("\n"),
      );
      assert.ok(set.size < docs.length, "the offending policy is not served");
    });
  }

  it("explain lists a target with its aliases", () => {
    const { set } = compile(policy("p", GCP));
    const d = explain(set, who, request("elsewhere"), LIMITS);
    const target = d.trace[0]?.checks.find((c) => c.check === "target");
    assert.equal(target?.expected, `gcp-deployer (alias ${GCLOUD_AUDIENCE})`);
  });
});
