import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { startTestBroker, type TestBroker } from "../helpers/broker.ts";
import { fixtureClaims } from "../helpers/fixtures.ts";

/**
 * error_description says it once and names only what the client itself sent: over random requests (grant, token
 * validity, audience, scope, claim values), in both errors.verbose modes, no description repeats a segment ("a: a")
 * and none contains a claim value of the presented token; invalid_scope / invalid_target name the refused value of
 * the request, quoted, bounded and without control characters.
 */

const POLICY = `
apiVersion: wif-broker/v1
kind: TrustPolicy
metadata: { name: octo-deploy }
spec:
  provider: github
  match: { repository_owner_id: "65", repository_id: "74", ref: { glob: "refs/heads/*" } }
  grant:
    subject: "github:{{claims.repository}}"
    claims: { repo: "{{claims.repository}}", sha: "{{claims.sha}}", env: "{{claims.environment}}" }
    targets:
      - audience: https://deploy.acme.internal
        aliases: [deploy-alias]
        scopes: [deploy:read, deploy:write]
      - audience: https://noscope.acme.internal
      - audience: aws-unconfigured
        aws: { roleArn: "arn:aws:iam::123456789012:role/deploy" }
`;

const GRANTS = [
  "urn:ietf:params:oauth:grant-type:token-exchange",
  "urn:ietf:params:oauth:grant-type:jwt-bearer",
  "client_credentials",
  "password",
] as const;

/** A claim value that could not appear in a description by chance. */
const claimValue = fc.stringMatching(/^[a-z]{4}[0-9a-f]{12}$/).map((v) => `cv-${v}`);

/** Request values: the policy's own names, near misses, and hostile text (control characters, long, quotes). */
const requestText = fc.oneof(
  fc.constantFrom(
    "https://deploy.acme.internal",
    "deploy-alias",
    "https://noscope.acme.internal",
    "aws-unconfigured",
  ),
  fc.string({ unit: "grapheme", maxLength: 40 }),
  fc.string({ unit: "binary", minLength: 1, maxLength: 300 }),
  fc.constantFrom("a\u0000b", "x\r\nSet-Cookie: y", '"quoted"', "\u202eevil"),
);
const scopeText = fc.oneof(
  fc.constantFrom("deploy:read", "deploy:read admin", "admin", "deploy:write deploy:read"),
  requestText,
);

const request = fc.record({
  grant: fc.constantFrom(...GRANTS),
  token: fc.constantFrom("admitted", "other-repo", "expired", "missing-claim", "garbage"),
  audience: fc.option(requestText, { nil: undefined }),
  resource: fc.option(requestText, { nil: undefined }),
  scope: fc.option(scopeText, { nil: undefined }),
  claims: fc.record({ repository: claimValue, sha: claimValue, actor: claimValue, workflow: claimValue }),
  ref: claimValue,
});
type Request = typeof request extends fc.Arbitrary<infer T> ? T : never;

/** The segments of a description, without its request id: "a: b: c (request id X)" → [a, b, c]. */
const segments = (description: string) =>
  description
    .replace(/ \(request id [^)]*\)$/, "")
    .split(": ")
    .map((s) => s.trim());

describe("error_description: said once, never a claim value (property)", () => {
  const brokers: Record<"plain" | "verbose", TestBroker | undefined> = {
    plain: undefined,
    verbose: undefined,
  };
  before(async () => {
    brokers.plain = await startTestBroker({ policies: POLICY });
    brokers.verbose = await startTestBroker({ policies: POLICY, config: { errors: { verbose: true } } });
  });
  after(async () => {
    await brokers.plain?.close();
    await brokers.verbose?.close();
  });

  function token(b: TestBroker, r: Request): string {
    const claims = fixtureClaims("github-actions-branch", { ...r.claims, ref: `refs/heads/${r.ref}` });
    switch (r.token) {
      case "admitted":
        return b.idp.mint({ ...claims, environment: r.ref });
      case "other-repo":
        return b.idp.mint({ ...claims, repository_id: "1" });
      case "expired":
        return b.idp.mint({ ...claims, exp: 1 });
      case "missing-claim":
        return b.idp.mint(claims); // no `environment`: the claims template denies
      case "garbage":
        return `not-a-jwt-${r.claims.sha}`;
    }
  }

  function form(b: TestBroker, r: Request): Record<string, string> {
    const t = token(b, r);
    const params: Record<string, string> = { grant_type: r.grant };
    if (r.grant === "urn:ietf:params:oauth:grant-type:jwt-bearer") params.assertion = t;
    else if (r.grant === "client_credentials") {
      params.client_assertion = t;
      params.client_assertion_type = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
    } else {
      params.subject_token = t;
      params.subject_token_type = "urn:ietf:params:oauth:token-type:jwt";
    }
    if (r.audience !== undefined) params.audience = r.audience;
    if (r.resource !== undefined) params.resource = r.resource;
    if (r.scope !== undefined) params.scope = r.scope;
    return params;
  }

  for (const mode of ["plain", "verbose"] as const) {
    it(`${mode}: no repeated segment, no claim value, the refused value named`, async () => {
      const b = brokers[mode];
      assert.ok(b);
      const seen = new Set<string>();
      await fc.assert(
        fc.asyncProperty(request, async (r) => {
          const res = await b.post(form(b, r));
          if (res.status === 200) return;
          const body = (await res.json()) as { error: string; error_description: string };
          const d = body.error_description;
          seen.add(body.error);
          const parts = segments(d);
          assert.equal(new Set(parts).size, parts.length, `a repeated segment: ${d}`);
          for (const v of [...Object.values(r.claims), r.ref])
            assert.ok(!d.includes(v), `a claim value in ${JSON.stringify(d)}`);
          assert.doesNotMatch(d, /[\p{Cc}\p{Cf}]/u, "no control or format characters");
          assert.ok(d.length < 600, `bounded: ${d.length}`);
          // Naming needs one refused value: audience and resource naming two targets is refused as such.
          const twoTargets =
            r.audience !== undefined && r.resource !== undefined && r.audience !== r.resource;
          if (body.error === "invalid_scope" || (body.error === "invalid_target" && !twoTargets))
            assert.match(d, /"[^"]*"/, `names the refused value: ${d}`);
        }),
        { numRuns: 150 },
      );
      // The property saw the refusals it is about, not only malformed requests.
      for (const code of ["invalid_request", "invalid_scope", "invalid_target"])
        assert.ok(seen.has(code), `${code} among ${[...seen].join(", ")}`);
    });
  }

  it("invalid_scope names the refused scope and invalid_target the requested audience, from the request", async () => {
    const b = brokers.plain;
    assert.ok(b);
    const token = b.idp.mint({ ...fixtureClaims("github-actions-branch"), environment: "prod" });
    const scope = await b.exchange(token, "https://deploy.acme.internal", { scope: "deploy:read admin" });
    assert.match(
      ((await scope.json()) as { error_description: string }).error_description,
      /^scope "admin" is not allowed for this target \(request id /,
    );
    const target = await b.exchange(token, `https://elsewhere.internal/${"x".repeat(200)}\u0007`);
    const described = ((await target.json()) as { error_description: string }).error_description;
    assert.match(
      described,
      /^the identity may not obtain a token for the target "https:\/\/elsewhere\.internal\/x+…"/,
    );
    assert.ok(described.length < 200, "the audience is cut at 100 characters");
  });
});
