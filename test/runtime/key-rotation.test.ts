import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { GITHUB_POLICY, startTestBroker } from "../helpers/broker.ts";
import { runCli } from "../helpers/cli.ts";
import { fixtureClaims } from "../helpers/fixtures.ts";

const kidOf = (jwt: string) =>
  JSON.parse(Buffer.from(jwt.split(".")[0] ?? "", "base64url").toString()).kid as string;

describe("signing key rotation without downtime", () => {
  it("publishes the next key before it signs, switches at its not-before, and drops removed keys", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wif-keys-"));
    const first = JSON.parse(runCli(["keys", "generate", "--dir", dir]).stdout) as {
      kid: string;
      file: string;
    };
    const b = await startTestBroker({ policies: GITHUB_POLICY, config: { signing: { keysDir: dir } } });
    try {
      const issue = async () => {
        const res = await b.exchange(
          b.idp.mint(fixtureClaims("github-actions-branch")),
          "https://deploy.acme.internal",
        );
        return ((await res.json()) as { access_token: string }).access_token;
      };
      const jwks = async () =>
        ((await (await fetch(`${b.url}/jwks`)).json()) as { keys: Array<{ kid: string }> }).keys.map(
          (k) => k.kid,
        );
      assert.equal(kidOf(await issue()), first.kid);

      // Stage the next key an hour ahead: published at once, not yet signing.
      const next = JSON.parse(runCli(["keys", "rotate", "--dir", dir, "--activate-in", "1h"]).stdout) as {
        kid: string;
      };
      b.broker.reload();
      assert.deepEqual((await jwks()).sort(), [first.kid, next.kid].sort());
      assert.equal(kidOf(await issue()), first.kid, "the current key still signs");

      // A key whose not-before has passed becomes active.
      const now = JSON.parse(runCli(["keys", "rotate", "--dir", dir, "--activate-in", "0s"]).stdout) as {
        kid: string;
      };
      b.broker.reload();
      assert.equal(kidOf(await issue()), now.kid);
      assert.equal((await jwks()).length, 3, "the retired key stays published");

      // Removing the retired key's file unpublishes it.
      rmSync(first.file);
      b.broker.reload();
      assert.ok(!(await jwks()).includes(first.kid));
      assert.equal(kidOf(await issue()), now.kid);
    } finally {
      await b.close();
    }
  });

  it("keeps signing with the last good keys when a key file is broken, and says so in /readyz", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wif-keys-"));
    const first = JSON.parse(runCli(["keys", "generate", "--dir", dir]).stdout) as { kid: string };
    const b = await startTestBroker({ policies: GITHUB_POLICY, config: { signing: { keysDir: dir } } });
    try {
      writeFileSync(
        join(dir, "zz-broken.pem"),
        "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n",
      );
      b.broker.reload();
      const res = await b.exchange(
        b.idp.mint(fixtureClaims("github-actions-branch")),
        "https://deploy.acme.internal",
      );
      assert.equal(res.status, 200);
      assert.equal(kidOf(((await res.json()) as { access_token: string }).access_token), first.kid);
      const ready = (await (await fetch(`${b.url}/readyz`)).json()) as {
        components: { signingKeys: { ok: boolean; lastError: string } };
      };
      assert.equal(ready.components.signingKeys.ok, false);
      assert.match(ready.components.signingKeys.lastError, /zz-broken\.pem/);
      assert.doesNotMatch(ready.components.signingKeys.lastError, /not a key/);
      assert.equal(readdirSync(dir).length, 2);
    } finally {
      await b.close();
    }
  });

  it("refuses to start on an unreadable keys directory", async () => {
    await assert.rejects(
      startTestBroker({
        policies: GITHUB_POLICY,
        config: { signing: { keysDir: join(tmpdir(), "does-not-exist-wif") } },
      }),
      /cannot read the signing keys directory/,
    );
  });
});
