import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, beforeEach, describe, it } from "node:test";
import { createAppAuth } from "@octokit/auth-app";
import { Octokit } from "@octokit/rest";
import { BrokerError } from "../../src/errors.ts";
import { GithubApi } from "../../src/mint/github/api.ts";
import { createGithubMinter, type GithubMinterOptions } from "../../src/mint/github.ts";
import { TOKEN_TYPE } from "../../src/mint/types.ts";
import type { GithubTargetSpec } from "../../src/policy/schema.ts";
import { githubRevoker } from "../../src/revocation/github.ts";
import { githubAppSigner } from "../../src/runtime/github-app-key.ts";
import { type FakeGithub, startFakeGithub } from "../fakes/github-server.ts";
import { FAST_RETRY, grantFor, manualClock } from "./mint-test-kit.ts";

/**
 * The GitHub minter (plain fetch) against a loopback GitHub API that verifies the App JWT with the App's public key;
 * the fake itself is proved once with the real @octokit/auth-app + @octokit/rest clients.
 */

const APP_ID = "123456";
const app = generateKeyPairSync("rsa", { modulusLength: 2048 });
const PKCS1 = app.privateKey.export({ format: "pem", type: "pkcs1" }).toString();
const PKCS8 = app.privateKey.export({ format: "pem", type: "pkcs8" }).toString();

function githubGrant(github: Partial<GithubTargetSpec> = {}, scopes?: string[]) {
  const spec: GithubTargetSpec = {
    owner: "acme",
    repositories: ["app", "infra"],
    permissions: { contents: "read", pull_requests: "write" },
    ...github,
  };
  const all = Object.entries(spec.permissions).map(([n, l]) => `${n}:${l}`);
  return grantFor({ kind: "github", audience: "github-acme", github: spec }, { scopes: scopes ?? all });
}

describe("github minter (App JWT → installation → access token)", () => {
  // Real time: the fake checks the App JWT's iat/exp against its own clock, as GitHub does.
  const time = manualClock(Date.now());
  let gh: FakeGithub;
  let ghes: FakeGithub;
  let keyFile: string;
  const dir = mkdtempSync(join(tmpdir(), "wif-github-"));

  const minter = async (over: Partial<GithubMinterOptions> = {}) =>
    createGithubMinter({
      appId: APP_ID,
      apiUrl: gh.apiUrl,
      signer: await githubAppSigner({ appId: APP_ID, apiUrl: gh.apiUrl, privateKeyFile: keyFile }),
      clock: time.clock,
      retry: FAST_RETRY,
      ...over,
    });

  before(async () => {
    gh = await startFakeGithub({ appId: APP_ID, appPublicKey: app.publicKey, now: time.clock });
    ghes = await startFakeGithub({
      appId: APP_ID,
      appPublicKey: app.publicKey,
      pathPrefix: "/api/v3",
      now: time.clock,
    });
    keyFile = join(dir, "app.pem");
    writeFileSync(keyFile, PKCS1);
  });
  after(() => Promise.all([gh.close(), ghes.close()]));
  beforeEach(() => {
    gh.reset();
    time.now = Date.now();
    gh.uninstall("acme");
    gh.uninstall("octocat");
    gh.install({
      login: "acme",
      type: "Organization",
      repositories: ["app", "infra", "secrets"],
      permissions: { contents: "write", pull_requests: "write", issues: "write", administration: "write" },
    });
    gh.install({
      login: "octocat",
      type: "User",
      repositories: ["dotfiles"],
      permissions: { contents: "read" },
    });
  });

  it("the fake speaks GitHub's API: @octokit/auth-app gets an installation token, octokit lists and revokes", async () => {
    const auth = createAppAuth({
      appId: APP_ID,
      privateKey: PKCS1,
      request: new Octokit({ baseUrl: gh.apiUrl }).request,
    });
    const appOctokit = new Octokit({ baseUrl: gh.apiUrl, auth: (await auth({ type: "app" })).token });
    const { data: installation } = await appOctokit.rest.apps.getOrgInstallation({ org: "acme" });
    const token = await auth({
      type: "installation",
      installationId: installation.id,
      repositoryNames: ["app"],
      permissions: { contents: "read" },
    });
    assert.match(token.token, /^ghs_/);
    assert.deepEqual(token.repositoryNames, ["app"]);
    const installationOctokit = new Octokit({ baseUrl: gh.apiUrl, auth: token.token });
    const { data } = await installationOctokit.rest.apps.listReposAccessibleToInstallation();
    assert.deepEqual(
      data.repositories.map((r) => r.name),
      ["app"],
    );
    await installationOctokit.rest.apps.revokeInstallationAccessToken();
    assert.equal(gh.issued[0]?.revoked, true);
  });

  it("creates a token with exactly the policy's repositories and permissions; expires_in counts to expires_at", async () => {
    const issued = await (await minter()).mint(githubGrant(), time.ctx());
    assert.equal(issued.issuedTokenType, TOKEN_TYPE.accessToken);
    assert.equal(issued.tokenType, "Bearer");
    assert.match(issued.accessToken, /^ghs_[A-Za-z0-9]{36}$/);
    assert.equal(issued.scope, "contents:read pull_requests:write");
    assert.ok(issued.expiresIn > 3590 && issued.expiresIn <= 3600, String(issued.expiresIn));
    const [token] = gh.issued;
    assert.deepEqual(token?.repositories, ["app", "infra"]);
    assert.deepEqual(token?.permissions, { contents: "read", pull_requests: "write", metadata: "read" });
    const create = gh.requests.find((r) => r.method === "POST");
    assert.deepEqual(create?.body, {
      repositories: ["app", "infra"],
      permissions: { contents: "read", pull_requests: "write" },
    });
    assert.equal(create?.auth, "app", "the App JWT verified with the App's public key");
    // What the token can reach, asked with the token itself.
    const repos = await fetch(`${gh.apiUrl}/installation/repositories`, {
      headers: { authorization: `Bearer ${issued.accessToken}`, accept: "application/vnd.github+json" },
    });
    assert.deepEqual(
      ((await repos.json()) as { repositories: Array<{ name: string }> }).repositories.map((r) => r.name),
      ["app", "infra"],
    );
  });

  it("request scopes narrow the permissions (contents:read of contents: write)", async () => {
    const grant = githubGrant({ permissions: { contents: "write", pull_requests: "write" } }, [
      "contents:read",
    ]);
    const issued = await (await minter()).mint(grant, time.ctx());
    assert.equal(issued.scope, "contents:read");
    assert.deepEqual(gh.issued[0]?.permissions, { contents: "read", metadata: "read" });
  });

  it("App JWT: RS256, iss = App ID, iat 60 s back, exp ≤ 10 min; reused across tokens", async () => {
    const rejected = gh.rejectedJwts;
    const m = await minter();
    await m.mint(githubGrant(), time.ctx());
    await m.mint(githubGrant(), time.ctx());
    assert.equal(gh.rejectedJwts, rejected);
    assert.ok(gh.requests.every((r) => r.auth === "app"));
    // Two tokens, one installation lookup (cached).
    assert.equal(gh.requests.filter((r) => r.path.endsWith("/installation")).length, 1);
  });

  it("a user account is found through /users/{owner}/installation", async () => {
    const grant = githubGrant({
      owner: "octocat",
      repositories: ["dotfiles"],
      permissions: { contents: "read" },
    });
    const issued = await (await minter()).mint(grant, time.ctx());
    assert.match(issued.accessToken, /^ghs_/);
    assert.deepEqual(
      gh.requests.filter((r) => r.method === "GET").map((r) => r.path),
      ["/orgs/octocat/installation", "/users/octocat/installation"],
    );
  });

  it("no installation for the owner → invalid_target, remembered (negative cache)", async () => {
    const m = await minter();
    for (let i = 0; i < 2; i++) {
      await assert.rejects(m.mint(githubGrant({ owner: "nobody" }), time.ctx()), (e: unknown) => {
        assert.ok(e instanceof BrokerError);
        assert.equal(e.kind, "invalid_target");
        assert.equal(e.reason, "github.no_installation");
        return true;
      });
    }
    assert.equal(gh.requests.length, 2, "orgs + users once; the second request came from the negative cache");
  });

  it("a repository or permission the installation lacks → invalid_target (GitHub 422)", async () => {
    await assert.rejects(
      (await minter()).mint(githubGrant({ repositories: ["elsewhere"] }), time.ctx()),
      (e: unknown) => e instanceof BrokerError && e.kind === "invalid_target",
    );
  });

  it("rate limited (403, x-ratelimit-remaining 0) → 503 with Retry-After until the reset; 5xx → 503", async () => {
    const reset = Math.floor(time.now / 1000) + 42;
    const limited = { "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(reset) };
    const m = await minter({ retry: { attempts: 1 } });
    gh.fail({ status: 403, headers: limited });
    await assert.rejects(m.mint(githubGrant(), time.ctx()), (e: unknown) => {
      assert.ok(e instanceof BrokerError);
      assert.equal(e.kind, "unavailable");
      assert.ok(e.retryAfter !== undefined && e.retryAfter >= 41 && e.retryAfter <= 42, String(e.retryAfter));
      return true;
    });
    gh.fail({ status: 429, headers: { "retry-after": "7" } });
    await assert.rejects(
      m.mint(githubGrant(), time.ctx()),
      (e: unknown) => e instanceof BrokerError && e.retryAfter === 7,
    );
    gh.fail({ status: 502 });
    await assert.rejects(
      m.mint(githubGrant(), time.ctx()),
      (e: unknown) => e instanceof BrokerError && e.kind === "unavailable",
    );
  });

  it("an App uninstalled after its installation was cached is looked up again", async () => {
    const m = await minter();
    await m.mint(githubGrant(), time.ctx());
    gh.uninstall("acme");
    gh.install({
      login: "acme",
      type: "Organization",
      repositories: ["app", "infra"],
      permissions: { contents: "read", pull_requests: "write" },
    });
    const issued = await m.mint(githubGrant(), time.ctx());
    assert.match(issued.accessToken, /^ghs_/);
  });

  it("GitHub Enterprise Server: the apiUrl path (/api/v3) is kept on every call", async () => {
    ghes.install({
      login: "acme",
      type: "Organization",
      repositories: ["app", "infra"],
      permissions: { contents: "read", pull_requests: "write" },
    });
    const issued = await (await minter({ apiUrl: ghes.apiUrl })).mint(githubGrant(), time.ctx());
    assert.match(issued.accessToken, /^ghs_/);
    assert.ok(ghes.requests.length >= 2);
  });

  it("a PKCS#8 App key works as well as GitHub's PKCS#1 PEM", async () => {
    const pkcs8 = join(dir, "app-pkcs8.pem");
    writeFileSync(pkcs8, PKCS8);
    const signer = await githubAppSigner({ appId: APP_ID, apiUrl: gh.apiUrl, privateKeyFile: pkcs8 });
    const issued = await (await minter({ signer })).mint(githubGrant(), time.ctx());
    assert.match(issued.accessToken, /^ghs_/);
  });

  it("a key file that is not an RSA private key is refused without quoting it", async () => {
    const bad = join(dir, "bad.pem");
    writeFileSync(bad, "-----BEGIN RSA PRIVATE KEY-----\nSECRETMATERIAL\n-----END RSA PRIVATE KEY-----\n");
    await assert.rejects(
      githubAppSigner({ appId: APP_ID, apiUrl: gh.apiUrl, privateKeyFile: bad }),
      (e: unknown) => {
        assert.ok(e instanceof Error);
        assert.ok(!e.message.includes("SECRETMATERIAL"));
        return true;
      },
    );
  });

  it("/revoke's GitHub revoker deletes a ghs_ token with DELETE /installation/token; other strings are not its own", async () => {
    const issued = await (await minter()).mint(githubGrant(), time.ctx());
    const revoker = githubRevoker(new GithubApi(gh.apiUrl, time.clock), FAST_RETRY);
    assert.equal(await revoker.revoke("not-a-github-token", undefined), "not-mine");
    assert.equal(await revoker.revoke(issued.accessToken, undefined), "revoked");
    assert.equal(gh.issued[0]?.revoked, true);
    // Already revoked: GitHub says 401; nothing left to do.
    assert.equal(await revoker.revoke(issued.accessToken, undefined), "not-mine");
    gh.fail({ status: 503 }, { status: 503 }, { status: 503 });
    await assert.rejects(
      revoker.revoke(issued.accessToken, undefined),
      (e: unknown) => e instanceof BrokerError && e.kind === "unavailable",
    );
  });
});
