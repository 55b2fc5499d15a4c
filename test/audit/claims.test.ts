import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { auditClaimsFields, CLAIMS_BUDGET_BYTES } from "../../src/audit/claims-field.ts";
import { parseReplayLine } from "../../src/audit/replay.ts";
import { GRANT } from "../../src/exchange/request.ts";
import { diff, policyDir, tmp } from "../cli/policy-diff/diff-kit.ts";
import { GITHUB_POLICY, startTestBroker, type TestBroker } from "../helpers/broker.ts";
import { fixtureClaims } from "../helpers/fixtures.ts";

const DEPLOY = "https://deploy.acme.internal";

describe("audit: {claims: true} (CONTRACT §7)", () => {
  let b: TestBroker;
  let plain: TestBroker;
  before(async () => {
    b = await startTestBroker({ policies: GITHUB_POLICY, config: { audit: { claims: true } } });
    plain = await startTestBroker({ policies: GITHUB_POLICY, idp: b.idp });
  });
  after(async () => {
    await plain.close();
    await b.close();
  });

  it("carries the verified claims and the request, never the token; off by default", async () => {
    const token = b.idp.mint(fixtureClaims("github-actions-branch"));
    const res = await b.exchange(token, DEPLOY, { scope: "deploy:write" });
    assert.equal(res.status, 200);
    const event = b.audit.at(-1);
    assert.ok(event);
    assert.equal(event.claims?.repository, "octo-org/octo-repo");
    assert.equal(event.claims?.sub, event.sub);
    assert.deepEqual(Object.keys(event.request ?? {}).sort(), ["audience", "scope", "source_ip", "time"]);
    assert.equal(event.request?.audience, DEPLOY);
    assert.equal(event.request?.scope, "deploy:write");
    assert.match(event.request?.time ?? "", /^\d{4}-\d\d-\d\dT/);
    const line = JSON.stringify(event);
    assert.ok(!line.includes(token), "no token in the line");
    assert.ok(!line.includes(token.split(".")[2] ?? "-"), "not even the signature");

    await plain.exchange(plain.idp.mint(fixtureClaims("github-actions-branch")), DEPLOY);
    const off = plain.audit.at(-1);
    assert.equal(off?.claims, undefined);
    assert.equal(off?.request, undefined);
  });

  it("a denied request is recorded too, and a token that never verified carries no claims", async () => {
    await b.exchange(
      b.idp.mint(fixtureClaims("github-actions-branch", { repository_owner_id: "1" })),
      DEPLOY,
    );
    const denied = b.audit.at(-1);
    assert.equal(denied?.decision, "deny");
    assert.equal(denied?.claims?.repository_owner_id, "1");
    await b.exchange("eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln", DEPLOY);
    const unverified = b.audit.at(-1);
    assert.equal(unverified?.claims, undefined);
  });

  it("policy diff replays what the broker recorded and finds the request a head policy would deny", async () => {
    const before = b.audit.length;
    await b.exchange(b.idp.mint(fixtureClaims("github-actions-branch")), DEPLOY);
    await b.exchange(
      b.idp.mint(fixtureClaims("github-actions-branch", { grant_type: GRANT.tokenExchange })),
      DEPLOY,
    );
    const file = join(tmp(), "audit.log");
    writeFileSync(
      file,
      `${b.audit
        .slice(before)
        .map((e) => JSON.stringify(e))
        .join("\n")}\n`,
    );
    const head = policyDir(GITHUB_POLICY.replace('ref: { glob: "refs/heads/*" }', "ref: refs/heads/release"));
    const r = await diff([
      "--base",
      policyDir(GITHUB_POLICY),
      "--head",
      head,
      "--audit",
      file,
      "--config",
      writeConfig(b.idp.url),
    ]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /2 requests replayed, 2 changed \(2 allow→deny\)/);
    assert.match(
      r.stdout,
      new RegExp(`request ${b.audit.at(-1)?.request_id} {2}sub repo:octo-org/octo-repo:ref:refs/heads/main`),
    );
  });

  it("claims over the budget are left out (never cut) so the line stays bounded; JWT-shaped values are hashed", () => {
    const request = {
      grantType: GRANT.tokenExchange,
      subjectToken: "t",
      audience: "a",
      scopes: null,
      requestedTokenType: undefined,
      clientId: undefined,
      sourceIp: undefined,
    };
    const big = auditClaimsFields({
      claims: { sub: "x", blob: "y".repeat(CLAIMS_BUDGET_BYTES) },
      request,
      decidedAt: 0,
    });
    assert.equal(big.claims, undefined);
    assert.equal(big.claims_omitted, "too_large");
    assert.equal(parseReplayLine(JSON.stringify({ ...big, provider: "github" })).ok, false);
    // A claim the per-field bound (1024 characters) would cut is not written cut: the claims are left out.
    const long = auditClaimsFields({ claims: { sub: "x", note: "n".repeat(1500) }, request, decidedAt: 0 });
    assert.equal(long.claims, undefined);
    assert.equal(long.claims_omitted, "too_large");
    const nested = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.sig-nature";
    const hashed = auditClaimsFields({ claims: { sub: "x", inner: [{ t: nested }] }, request, decidedAt: 0 });
    assert.match(JSON.stringify(hashed.claims), /"t":"sha256:[0-9a-f]{64}"/);
    assert.ok(!JSON.stringify(hashed).includes(nested));
  });
});

function writeConfig(issuer: string): string {
  const file = join(tmp(), "wif-broker.yaml");
  writeFileSync(file, `providers:\n  - { name: github, issuer: "${issuer}", allowInsecureHttp: true }\n`);
  return file;
}
