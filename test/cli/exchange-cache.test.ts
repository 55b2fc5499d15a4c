/**
 * `wif-broker exchange --cache`: the broker's answer in a 0600 file under $XDG_CACHE_HOME/wif-broker, one per
 * broker, audience, scope and token source, reused until 5 minutes before it expires.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmodSync, mkdtempSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startTestBroker, type TestBroker } from "../helpers/broker.ts";
import { CLI, type CliResult } from "../helpers/cli.ts";
import { fixtureClaims } from "../helpers/fixtures.ts";

const POLICIES = `
apiVersion: wif-broker/v1
kind: TrustPolicy
metadata: { name: octo-deploy }
spec:
  provider: github
  match: { repository_owner_id: "65", repository_id: "74", ref: { glob: "refs/heads/*" } }
  grant:
    targets:
      - { audience: https://deploy.acme.internal, ttl: 1h, scopes: [deploy:read, deploy:write] }
      - { audience: https://short.acme.internal, ttl: 4m }
`;

describe("wif-broker exchange --cache", () => {
  let b: TestBroker;
  let dir: string;
  let tokenFile: string;
  before(async () => {
    b = await startTestBroker({ policies: POLICIES });
    dir = mkdtempSync(join(tmpdir(), "wif-cache-"));
    tokenFile = join(dir, "token.jwt");
    writeFileSync(tokenFile, b.idp.mint(fixtureClaims("github-actions-branch"), { ttl: 3600 }));
  });
  after(() => b.close());

  function exchange(cacheHome: string, extra: string[]): Promise<CliResult> {
    const args = ["exchange", "--broker", b.url, "--token-file", tokenFile, "--format", "token", ...extra];
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { PATH: process.env.PATH ?? "", HOME: dir, XDG_CACHE_HOME: cacheHome },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
    });
    return new Promise((resolve, reject) => {
      child.on("error", reject);
      child.on("close", (code) => resolve({ code, stdout, stderr }));
    });
  }

  const exchanges = () => b.audit.filter((e) => e.decision === "allow").length;

  it("reuses the answer from a 0600 file in a 0700 directory; another scope or audience is another entry", async () => {
    const home = mkdtempSync(join(tmpdir(), "wif-xdg-"));
    const deploy = ["--audience", "https://deploy.acme.internal", "--cache"];
    const start = exchanges();
    const first = await exchange(home, deploy);
    assert.equal(first.code, 0, first.stderr);
    const second = await exchange(home, deploy);
    assert.equal(second.code, 0, second.stderr);
    assert.equal(second.stdout, first.stdout, "the same credential");
    assert.equal(exchanges() - start, 1, "one exchange for two runs");

    const cacheDir = join(home, "wif-broker");
    assert.equal(statSync(cacheDir).mode & 0o777, 0o700);
    const [file, ...more] = readdirSync(cacheDir);
    assert.ok(file !== undefined && more.length === 0);
    assert.equal(statSync(join(cacheDir, file)).mode & 0o777, 0o600);

    const scoped = await exchange(home, [...deploy, "--scope", "deploy:write"]);
    assert.equal(scoped.code, 0, scoped.stderr);
    assert.notEqual(scoped.stdout, first.stdout);
    assert.equal(exchanges() - start, 2);
    assert.equal(readdirSync(cacheDir).length, 2);

    // Without --cache nothing is read or written.
    const plain = await exchange(home, ["--audience", "https://deploy.acme.internal"]);
    assert.notEqual(plain.stdout, first.stdout);
    assert.equal(exchanges() - start, 3);
    assert.equal(readdirSync(cacheDir).length, 2);
  });

  it("a credential with 5 minutes or less left is not reused", async () => {
    const home = mkdtempSync(join(tmpdir(), "wif-xdg-"));
    const short = ["--audience", "https://short.acme.internal", "--cache"];
    const start = exchanges();
    const a = await exchange(home, short);
    const c = await exchange(home, short);
    assert.equal(a.code, 0, a.stderr);
    assert.notEqual(a.stdout, c.stdout);
    assert.equal(exchanges() - start, 2);
  });

  it("a cache file or directory others can read is ignored (and the file rewritten 0600)", async () => {
    const home = mkdtempSync(join(tmpdir(), "wif-xdg-"));
    const deploy = ["--audience", "https://deploy.acme.internal", "--cache"];
    const start = exchanges();
    const first = await exchange(home, deploy);
    const cacheDir = join(home, "wif-broker");
    const [file] = readdirSync(cacheDir);
    assert.ok(file);
    chmodSync(join(cacheDir, file), 0o644);
    const second = await exchange(home, deploy);
    assert.notEqual(second.stdout, first.stdout, "a readable file is not trusted");
    assert.equal(statSync(join(cacheDir, file)).mode & 0o777, 0o600);
    chmodSync(cacheDir, 0o755);
    const third = await exchange(home, deploy);
    assert.notEqual(third.stdout, second.stdout, "nor is a directory others can enter");
    assert.equal(exchanges() - start, 3);
  });
});
