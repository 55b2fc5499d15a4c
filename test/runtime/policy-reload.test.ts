import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { memoryLogger } from "../../src/observability/log.ts";
import type { PolicySource } from "../../src/runtime/policy-source.ts";
import { GITHUB_POLICY, startTestBroker } from "../helpers/broker.ts";
import { fixtureClaims } from "../helpers/fixtures.ts";

const DEPLOY = "https://deploy.acme.internal";

async function until(check: () => Promise<boolean>, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("policy hot reload", () => {
  it("applies a changed file, keeps the last good set on a broken one, and reports it in /readyz, logs and metrics", async () => {
    const logger = memoryLogger();
    const b = await startTestBroker({ policies: GITHUB_POLICY, watchPolicies: true, logger });
    try {
      const token = (repo: string) =>
        b.idp.mint(fixtureClaims("github-actions-branch", { repository_id: repo }));
      assert.equal((await b.exchange(token("74"), DEPLOY)).status, 200);

      // A broken file: the serving set stays, the error names the file and the path.
      writeFileSync(
        join(b.policyDir, "broken.yaml"),
        GITHUB_POLICY.replace("name: octo-deploy", "name: other").replace("glob:", "glab:"),
      );
      await until(async () => {
        const r = (await (await fetch(`${b.url}/readyz`)).json()) as {
          components: { policies: { lastError?: string } };
        };
        return (r.components.policies.lastError ?? "").includes("broken.yaml");
      }, "the reload error in /readyz");
      const ready = await fetch(`${b.url}/readyz`);
      assert.equal(ready.status, 200, "still ready: the last good set serves");
      assert.equal((await b.exchange(token("74"), DEPLOY)).status, 200);
      assert.ok(
        logger.lines.some((l) => l.includes("broken.yaml") && l.includes("spec.match.ref")),
        "logged with file and path",
      );
      assert.match(
        await (await fetch(`${b.url}/metrics`)).text(),
        /wif_broker_policy_reloads_total\{result="error"\} [1-9]/,
      );

      // Fixing it (and changing the policy) takes effect without a restart.
      writeFileSync(join(b.policyDir, "broken.yaml"), "# emptied\n");
      writeFileSync(
        join(b.policyDir, "policies.yaml"),
        GITHUB_POLICY.replace('repository_id: "74"', 'repository_id: "75"'),
      );
      await until(async () => (await b.exchange(token("75"), DEPLOY)).status === 200, "the new policy");
      assert.equal((await b.exchange(token("74"), DEPLOY)).status, 400);
      const after = (await (await fetch(`${b.url}/readyz`)).json()) as {
        components: { policies: { ok: boolean; lastError?: string } };
      };
      assert.equal(after.components.policies.ok, true);
      assert.equal(after.components.policies.lastError, undefined);
    } finally {
      await b.close();
    }
  });

  it("reload() (what SIGHUP calls) swaps whole sets only: a failing reload leaves the very same set serving", async () => {
    const b = await startTestBroker({ policies: GITHUB_POLICY });
    try {
      const source: PolicySource = b.broker.policies;
      const before = source.current();
      writeFileSync(join(b.policyDir, "policies.yaml"), `${GITHUB_POLICY}---\nkind: TrustPolicy\n`);
      assert.ok(source.reload().length > 0);
      assert.equal(source.current(), before, "the identical set object still serves");
      writeFileSync(
        join(b.policyDir, "policies.yaml"),
        GITHUB_POLICY.replace("octo-deploy", "octo-deploy-2"),
      );
      assert.deepEqual(source.reload(), []);
      assert.notEqual(source.current(), before);
      assert.deepEqual(
        source.current().policies.map((p) => p.name),
        ["octo-deploy-2"],
      );
    } finally {
      await b.close();
    }
  });
});
