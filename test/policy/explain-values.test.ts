import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { decide, explain } from "../../src/policy/evaluate.ts";
import { compilePolicyFiles } from "../../src/policy/parse.ts";

const LIMITS = { maxTtl: 3600, defaultTtl: 900 };
const { set } = compilePolicyFiles([
  {
    path: "p.yaml",
    text: `apiVersion: wif-broker/v1
kind: TrustPolicy
metadata: { name: p }
spec:
  provider: github
  match: { repository_owner_id: "65", ref: { glob: "refs/heads/*" }, actor: { not: "evil" } }
  condition: claims.ref_type == "branch"
  access: { sourceCidrs: [10.0.0.0/8], schedule: { timezone: UTC, days: [Mon], from: "07:00", to: "19:00" } }
  grant: { targets: [{ audience: https://x.internal, scopes: [a] }] }
`,
  },
]);

describe("explain with values; decide without", () => {
  it("decide (the /token path: audit and HTTP errors) never carries a claim value; explain shows it", () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 6, maxLength: 40 }).filter((s) => /^[\w./-]+$/.test(s)),
        fc.constantFrom("ref", "repository_owner_id", "actor", "ref_type"),
        (value, claim) => {
          const claims: Record<string, unknown> = {
            sub: "s",
            repository_owner_id: "65",
            ref: "refs/heads/main",
            actor: "octocat",
            ref_type: "branch",
            [claim]: `zz${value}`,
          };
          const who = { provider: "github", subject: "s", claims };
          const req = {
            audience: "https://x.internal",
            scopes: ["b"],
            sourceIp: "192.0.2.1",
            now: Date.UTC(2026, 11, 5, 3),
          };
          const decided = JSON.stringify(decide(set, who, req, LIMITS));
          assert.ok(!decided.includes(`zz${value}`), decided);
          assert.ok(!decided.includes("192.0.2.1"));
          assert.ok(!decided.includes('"expected"') && !decided.includes('"actual"'));
          const explained = explain(set, who, req, LIMITS);
          const check = explained.trace[0]?.checks.find(
            (c) => c.check === `match.${claim}` || (claim === "ref_type" && c.check === "condition"),
          );
          if (claim !== "ref_type") assert.equal(check?.actual, JSON.stringify(`zz${value}`));
        },
      ),
    );
  });

  it("explain names expected and actual for condition, access and scope checks", () => {
    const d = explain(
      set,
      {
        provider: "github",
        subject: "s",
        claims: { repository_owner_id: "65", ref: "refs/heads/x", actor: "a", ref_type: "tag" },
      },
      { audience: "https://x.internal", scopes: ["b"], sourceIp: "192.0.2.1", now: Date.UTC(2026, 11, 5, 3) },
      LIMITS,
    );
    const by = new Map(d.trace[0]?.checks.map((c) => [c.check, c]));
    assert.deepEqual(
      { expected: by.get("condition")?.expected, actual: by.get("condition")?.actual },
      { expected: 'claims.ref_type == "branch" is true', actual: "is false" },
    );
    assert.equal(by.get("access.sourceCidrs")?.expected, "in 10.0.0.0/8");
    assert.equal(by.get("access.sourceCidrs")?.actual, "192.0.2.1");
    assert.equal(by.get("access.schedule")?.expected, "Mon 07:00–19:00 UTC");
    assert.equal(by.get("access.schedule")?.actual, "Sat 03:00 UTC");
    assert.equal(by.get("match.actor")?.expected, 'not "evil"');
  });
});
