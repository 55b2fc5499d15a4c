import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, beforeEach, describe, it } from "node:test";
import { TOKEN_TYPE } from "../../src/mint/types.ts";
import { type FakeAwsKms, startFakeAwsKms } from "../fakes/aws-kms-server.ts";
import { type FakeGithub, startFakeGithub } from "../fakes/github-server.ts";
import { formBody, startTestBroker, type TestBroker } from "../helpers/broker.ts";
import { fixtureClaims } from "../helpers/fixtures.ts";

/**
 * GitHub App installation tokens end to end (CONTRACT §11, §10): workload token → broker → GitHub (loopback fake
 * that verifies the App JWT with the App's public key) → a `ghs_` token for exactly the policy's repositories and
 * permissions; `/revoke` deletes it at GitHub.
 */

const APP_ID = "987654";
const app = generateKeyPairSync("rsa", { modulusLength: 2048 });

const POLICY = `
apiVersion: wif-broker/v1
kind: TrustPolicy
metadata: { name: acme-github }
spec:
  provider: github
  match: { repository_owner_id: "65", repository_id: "74" }
  grant:
    targets:
      - audience: github-acme
        github: { owner: acme, repositories: [app, infra], permissions: { contents: write, pull_requests: write } }
      - audience: github-elsewhere
        github: { owner: not-installed, repositories: [x], permissions: { contents: read } }
`;

interface TokenResponse {
  access_token: string;
  issued_token_type: string;
  token_type: string;
  expires_in: number;
  scope?: string;
  error?: string;
}

describe("GitHub installation tokens through the broker", () => {
  let gh: FakeGithub;
  let b: TestBroker;
  const dir = mkdtempSync(join(tmpdir(), "wif-e2e-github-"));
  const keyFile = join(dir, "app.pem");

  const exchange = async (broker: TestBroker, audience: string, extra: Record<string, string> = {}) => {
    const res = await broker.exchange(
      broker.idp.mint(fixtureClaims("github-actions-branch")),
      audience,
      extra,
    );
    return { res, body: (await res.json()) as TokenResponse };
  };

  before(async () => {
    writeFileSync(keyFile, app.privateKey.export({ format: "pem", type: "pkcs1" }));
    gh = await startFakeGithub({ appId: APP_ID, appPublicKey: app.publicKey, pathPrefix: "/api/v3" });
    b = await startTestBroker({
      policies: POLICY,
      config: { targets: { github: { appId: Number(APP_ID), privateKeyFile: keyFile, apiUrl: gh.apiUrl } } },
    });
  });
  after(async () => {
    await b.close();
    await gh.close();
  });
  beforeEach(() => {
    gh.reset();
    gh.uninstall("acme");
    gh.install({
      login: "acme",
      type: "Organization",
      repositories: ["app", "infra", "secrets"],
      permissions: { contents: "write", pull_requests: "write", administration: "write" },
    });
  });

  it("issues a ghs_ token with exactly the policy's repositories and permissions", async () => {
    const { res, body } = await exchange(b, "github-acme");
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.match(body.access_token, /^ghs_/);
    assert.equal(body.issued_token_type, TOKEN_TYPE.accessToken);
    assert.equal(body.token_type, "Bearer");
    assert.equal(body.scope, "contents:write pull_requests:write");
    assert.ok(
      body.expires_in > 3590 && body.expires_in <= 3600,
      "counts down to GitHub's expires_at, not the policy ttl",
    );
    const [issued] = gh.issued;
    assert.equal(issued?.token, body.access_token);
    assert.deepEqual(issued?.repositories, ["app", "infra"]);
    assert.deepEqual(issued?.permissions, { contents: "write", pull_requests: "write", metadata: "read" });
  });

  it("scope narrows: contents:read of contents: write; anything outside the target is invalid_scope", async () => {
    const { body } = await exchange(b, "github-acme", { scope: "contents:read" });
    assert.equal(body.scope, "contents:read");
    assert.deepEqual(gh.issued[0]?.permissions, { contents: "read", metadata: "read" });
    for (const scope of ["contents:admin", "administration:write", "issues:read", "contents"]) {
      const { res, body: refused } = await exchange(b, "github-acme", { scope });
      assert.equal(res.status, 400, scope);
      assert.equal(refused.error, "invalid_scope", scope);
    }
    assert.equal(gh.issued.length, 1, "nothing was asked of GitHub for refused scopes");
  });

  it("an owner without the App installed → 400 invalid_target", async () => {
    const { res, body } = await exchange(b, "github-elsewhere");
    assert.equal(res.status, 400);
    assert.equal(body.error, "invalid_target");
  });

  it("GitHub rate limiting → 503 temporarily_unavailable with Retry-After", async () => {
    gh.fail(...Array.from({ length: 3 }, () => ({ status: 429, headers: { "retry-after": "30" } })));
    const { res, body } = await exchange(b, "github-acme");
    assert.equal(res.status, 503);
    assert.equal(body.error, "temporarily_unavailable");
    assert.equal(res.headers.get("retry-after"), "30");
  });

  it("/revoke with the ghs_ token deletes it at GitHub; no ghs_ token reaches any log or audit line", async () => {
    const { body } = await exchange(b, "github-acme");
    const res = await fetch(`${b.url}/revoke`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: formBody({ token: body.access_token }),
    });
    assert.equal(res.status, 200);
    assert.equal(gh.issued[0]?.revoked, true);
    assert.ok(gh.requests.some((r) => r.method === "DELETE" && r.path === "/installation/token"));
    const everything = [...b.logs, ...b.audit.map((e) => JSON.stringify(e))].join("\n");
    assert.ok(!/ghs_/.test(everything), "no installation token in logs or audit");
    assert.ok(
      b.audit.some((e) => JSON.stringify(e).includes("github")),
      "the revoke is audited",
    );
  });

  it("the App key can live in AWS KMS: the App JWT is signed by KMS and GitHub verifies it", async () => {
    const kms: FakeAwsKms = await startFakeAwsKms();
    const arn = kms.createKey("RSA_2048");
    const kmsGithub = await startFakeGithub({ appId: APP_ID, appPublicKey: kms.publicKeyOf(arn) });
    kmsGithub.install({
      login: "acme",
      type: "Organization",
      repositories: ["app", "infra"],
      permissions: { contents: "write", pull_requests: "write" },
    });
    const broker = await startTestBroker({
      policies: POLICY,
      idp: b.idp,
      kms: { awsCredentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "fake" } },
      config: {
        targets: {
          github: {
            appId: APP_ID,
            privateKey: { kms: { aws: { keyId: arn, region: "eu-west-1", endpoint: kms.endpoint } } },
            apiUrl: kmsGithub.apiUrl,
          },
        },
      },
    });
    try {
      const { res, body } = await exchange(broker, "github-acme");
      assert.equal(res.status, 200, JSON.stringify(body));
      assert.match(body.access_token, /^ghs_/);
      assert.equal(
        kms.requests.filter((r) => r.operation === "Sign").length,
        1,
        "one KMS call for the App JWT",
      );
      assert.equal(kmsGithub.rejectedJwts, 0);
    } finally {
      await broker.close();
      await Promise.all([kms.close(), kmsGithub.close()]);
    }
  });
});
