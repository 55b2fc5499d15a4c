import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PLAYGROUND_CSP } from "../../src/http/routes/playground.ts";
import { playgroundAssetsBuilt } from "../../src/runtime/playground.ts";
import { startCli } from "../helpers/cli.ts";

describe("wif-broker dev, playground", () => {
  it("serves /playground (the bundle npm ci / npm run build made)", async () => {
    assert.ok(playgroundAssetsBuilt(), "dist/web/playground is built by npm ci (prepare) and npm run build");
    const port = String(20000 + Math.floor(Math.random() * 20000));
    const s = startCli(["dev", "--port", port], /Ctrl-C stops/);
    try {
      const banner = await s.started;
      assert.match(banner, new RegExp(`Playground: http://127\\.0\\.0\\.1:${port}/playground`));
      const res = await fetch(`http://127.0.0.1:${port}/playground`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-security-policy"), PLAYGROUND_CSP);
      assert.match(await res.text(), /"providers":\[\{"name":"demo"/, "the dev config's provider");
      const js = await fetch(`http://127.0.0.1:${port}/playground/playground.js`);
      assert.equal(js.status, 200);
    } finally {
      await s.stop();
    }
  });
});
