import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Minter } from "../../src/mint/types.ts";
import { createLogger } from "../../src/observability/log.ts";
import { GITHUB_POLICY, startTestBroker } from "../helpers/broker.ts";
import { fixtureClaims } from "../helpers/fixtures.ts";

describe("no token, credential or key in any log line", () => {
  it("holds across allowed, denied, malformed and failing exchanges at debug level", async () => {
    const lines: string[] = [];
    const sink = { write: (s: string) => void lines.push(s) };
    const secretsSeen: string[] = [];
    // A minter whose failure message carries the subject token, as a careless SDK error might.
    const leaky: Minter = {
      kind: "aws",
      mint: async (grant) => {
        throw new Error(`failed for ${grant.subject} with token ${secretsSeen[0] ?? ""}`);
      },
    };
    const b = await startTestBroker({
      policies: `${GITHUB_POLICY}---
apiVersion: wif-broker/v1
kind: TrustPolicy
metadata: { name: leaky }
spec:
  provider: github
  match: { repository_id: "97" }
  grant: { targets: [{ audience: leaky, aws: { roleArn: "arn:aws:iam::123456789012:role/x" } }] }
`,
      logger: createLogger("debug", sink),
      audit: { write: (e) => void lines.push(JSON.stringify(e)) },
      minters: { aws: leaky },
    });
    try {
      const good = b.idp.mint(fixtureClaims("github-actions-branch"));
      const denied = b.idp.mint(fixtureClaims("github-actions-branch", { repository_id: "1" }));
      const failing = b.idp.mint(fixtureClaims("github-actions-branch", { repository_id: "97" }));
      secretsSeen.push(failing);
      const ok = (await (await b.exchange(good, "https://deploy.acme.internal")).json()) as {
        access_token: string;
      };
      await b.exchange(denied, "https://deploy.acme.internal");
      await b.exchange(`${good}tampered`, "https://deploy.acme.internal");
      await b.post({
        grant_type: "client_credentials",
        client_assertion: good,
        client_assertion_type: "wrong",
      });
      assert.equal((await b.exchange(failing, "leaky")).status, 500);
      await new Promise((r) => setTimeout(r, 50));

      const output = lines.join("\n");
      assert.ok(lines.length >= 5, "the run produced log and audit lines");
      assert.ok(
        output.includes("unhandled") || output.includes("token request failed"),
        "the failure was logged",
      );
      for (const [name, token] of Object.entries({ good, denied, failing, issued: ok.access_token })) {
        for (const part of token.split(".")) {
          if (part.length > 20) assert.ok(!output.includes(part), `${name} token segment leaked`);
        }
      }
      const jwks = (await (await fetch(`${b.url}/jwks`)).json()) as { keys: Array<{ x: string }> };
      assert.ok(!/"d":"/.test(output), "no private JWK member");
      assert.ok(!output.includes("PRIVATE KEY"), "no PEM");
      assert.ok(jwks.keys[0]?.x);
    } finally {
      await b.close();
    }
  });
});
