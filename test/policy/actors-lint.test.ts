import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type LintContext, lintPolicy } from "../../src/policy/lint.ts";
import { policySchema } from "../../src/policy/schema.ts";

const CONFIG: LintContext = {
  providerIssuers: new Map([
    ["github", "https://token.actions.githubusercontent.com"],
    ["corp", "https://login.acme.example"],
  ]),
};

const withActors = (actors: unknown[]) =>
  policySchema.parse({
    apiVersion: "wif-broker/v1",
    kind: "TrustPolicy",
    metadata: { name: "delegating" },
    spec: {
      provider: "corp",
      match: { tenant_id: "acme-1" },
      actors,
      grant: { targets: [{ audience: "https://mcp.acme.internal" }] },
    },
  });

describe("lint of spec.actors (CONTRACT §9: as for subjects)", () => {
  it("an actors entry for a multi-tenant issuer without an ID pin is flagged at its own path", () => {
    const found = lintPolicy(
      withActors([{ provider: "github", match: { repository: "acme/agent" } }]),
      CONFIG,
    );
    const rule = found.find((f) => f.rule === "multi-tenant-unpinned");
    assert.ok(rule, JSON.stringify(found));
    assert.equal(rule.path, "spec.actors[0].match");
    assert.match(rule.message, /this actors entry pins no owner ID/);
  });

  it("an actors entry pinning repository_owner_id is not flagged; nor is a single-tenant actor", () => {
    const found = lintPolicy(
      withActors([
        { provider: "github", match: { repository_owner_id: "65", repository_id: "74" } },
        { provider: "corp", match: { sub: "svc-1" } },
      ]),
      CONFIG,
    );
    assert.deepEqual(
      found.filter((f) => f.rule === "multi-tenant-unpinned"),
      [],
    );
  });
});
