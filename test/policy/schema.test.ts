import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { compilePolicyFiles } from "../../src/policy/parse.ts";

const policy = (grant: string) => `apiVersion: wif-broker/v1
kind: TrustPolicy
metadata: { name: p }
spec:
  provider: github
  match: { repository_id: "1" }
  grant: ${grant}
`;

describe("policy schema refusals", () => {
  const rows: Array<[string, string, RegExp]> = [
    [
      "a fractional ttl (expires_in is an integer)",
      `{ ttl: 1500ms, targets: [{ audience: a }] }`,
      /spec\.grant\.ttl: must be a whole number/,
    ],
    [
      "scopes on a GCP target (its scopes are gcp.scopes)",
      `{ targets: [{ audience: g, scopes: [x], gcp: { serviceAccount: a@b.iam.gserviceaccount.com } }] }`,
      /spec\.grant\.targets\[0\]\.scopes/,
    ],
    [
      "scopes on an AWS target",
      `{ targets: [{ audience: a, scopes: [x], aws: { roleArn: "arn:aws:iam::123456789012:role/r" } }] }`,
      /take no scopes/,
    ],
    [
      "a default scope outside scopes",
      `{ targets: [{ audience: a, scopes: [x], defaultScopes: [y] }] }`,
      /default scope "y" is not in scopes/,
    ],
    [
      "a templated claim that shadows a registered one",
      `{ claims: { sub: "{{claims.sub}}" }, targets: [{ audience: a }] }`,
      /templated claims may not set/,
    ],
    [
      "a template that is not {{claims.…}}",
      `{ subject: "{{env.HOME}}", targets: [{ audience: a }] }`,
      /spec\.grant\.subject/,
    ],
    ["an audience listed twice", `{ targets: [{ audience: a }, { audience: a }] }`, /listed twice/],
  ];
  for (const [name, grant, message] of rows) {
    it(`refuses ${name}`, () => {
      const { problems } = compilePolicyFiles([{ path: "p.yaml", text: policy(grant) }]);
      assert.ok(
        problems.some((p) => message.test(`${p.path}: ${p.message}`)),
        JSON.stringify(problems),
      );
    });
  }
});
