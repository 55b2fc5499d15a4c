import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { policyJsonSchema } from "../../src/cli/policy.ts";
import { EMBEDDED_DEFAULT } from "../../src/config/load.ts";
import { parseFixtureFile, runFixtureCase } from "../../src/policy/fixtures.ts";
import { compilePolicyFiles } from "../../src/policy/parse.ts";
import { providerFacts, readPolicyFiles } from "../../src/runtime/policy-source.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const POLICIES = join(ROOT, "policies");

describe("shipped example policies", () => {
  const { set, problems, findings } = compilePolicyFiles(readPolicyFiles(POLICIES), {
    providers: providerFacts(EMBEDDED_DEFAULT),
  });

  it("compile without problems against the embedded default providers", () => {
    assert.deepEqual(problems, []);
    assert.ok(set.size >= 4);
  });

  it("pass lint with no findings (they are the examples platform teams copy)", () => {
    assert.deepEqual(findings, []);
  });

  const fixtures = readdirSync(POLICIES).filter((f) => f.endsWith(".test.yaml"));
  it("every policy file has a fixture file", () => {
    for (const f of readdirSync(POLICIES).filter((f) => f.endsWith(".yaml") && !f.endsWith(".test.yaml"))) {
      assert.ok(fixtures.includes(f.replace(/\.yaml$/, ".test.yaml")), `${f} has fixtures`);
    }
  });

  for (const file of fixtures) {
    describe(file, () => {
      for (const c of parseFixtureFile(readFileSync(join(POLICIES, file), "utf8"), file)) {
        it(c.name, () => {
          const r = runFixtureCase(set, c, { maxTtl: 3600, defaultTtl: 900 }, Date.now());
          assert.ok(r.passed, r.message);
        });
      }
    });
  }

  it("every policy is admitted by at least one fixture case", () => {
    const admitted = new Set<string>();
    for (const file of fixtures) {
      for (const c of parseFixtureFile(readFileSync(join(POLICIES, file), "utf8"), file)) {
        const r = runFixtureCase(set, c, { maxTtl: 3600, defaultTtl: 900 }, Date.now());
        if (r.decision.allow) admitted.add(r.decision.grant.policy);
      }
    }
    assert.deepEqual([...admitted].sort(), set.policies.map((p) => p.name).sort());
  });

  it("the committed JSON Schema is the one the loader's schema generates", () => {
    const committed = JSON.parse(readFileSync(join(ROOT, "schema/trust-policy.schema.json"), "utf8"));
    assert.deepEqual(
      committed,
      JSON.parse(JSON.stringify(policyJsonSchema())),
      "run: node src/cli/main.ts policy schema > schema/trust-policy.schema.json",
    );
  });

  it("every example points editors at the schema", () => {
    for (const f of readdirSync(POLICIES).filter((f) => f.endsWith(".yaml") && !f.endsWith(".test.yaml"))) {
      assert.match(
        readFileSync(join(POLICIES, f), "utf8"),
        /^# yaml-language-server: \$schema=\.\.\/schema\/trust-policy\.schema\.json/,
        f,
      );
    }
  });
});
