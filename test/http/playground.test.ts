import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { PLAYGROUND_CSP } from "../../src/http/routes/playground.ts";
import { DATA_ELEMENT_ID, type PlaygroundData } from "../../src/web/playground/page-data.ts";
import { GITHUB_POLICY, startTestBroker, type TestBroker } from "../helpers/broker.ts";
import { freshPlaygroundBundle } from "../helpers/playground.ts";

// A description that tries to close the data block and run a script.
const HOSTILE = GITHUB_POLICY.replace(
  "metadata: { name: octo-deploy }",
  'metadata: { name: octo-deploy, description: "</script><script>alert(1)</script> & \u2028" }',
);

function pageData(html: string): PlaygroundData {
  const m = html.match(
    new RegExp(`<script type="application/json" id="${DATA_ELEMENT_ID}">([^<]*)</script>`),
  );
  assert.ok(m?.[1], "the page carries its data block");
  return JSON.parse(m[1]) as PlaygroundData;
}

describe("GET /playground (CONTRACT §13)", () => {
  let on: TestBroker;
  let off: TestBroker;
  before(async () => {
    on = await startTestBroker({
      policies: HOSTILE,
      config: { playground: { enabled: true } },
      playgroundAssets: await freshPlaygroundBundle(),
    });
    off = await startTestBroker({ policies: GITHUB_POLICY, idp: on.idp });
  });
  after(async () => {
    await off.close();
    await on.close();
  });

  it("serves one page with a strict CSP, no inline script, and the loaded set as data", async () => {
    const res = await on.broker.app.request("/playground");
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/html/);
    const csp = res.headers.get("content-security-policy") ?? "";
    assert.equal(csp, PLAYGROUND_CSP);
    for (const directive of [
      "default-src 'none'",
      "script-src 'self'",
      "connect-src 'none'",
      "frame-ancestors 'none'",
    ])
      assert.ok(csp.includes(directive), directive);
    assert.ok(!csp.includes("unsafe-inline") && !csp.includes("unsafe-eval"));
    assert.equal(res.headers.get("x-frame-options"), "DENY");
    const html = await res.text();
    // Scripts only by src, styles only by link: nothing inline for the CSP to allow.
    const scripts = [...html.matchAll(/<script\b([^>]*)>/g)].map((m) => m[1] ?? "");
    assert.deepEqual(
      scripts.map((a) =>
        a.includes("src=") ? "src" : a.includes('type="application/json"') ? "data" : "inline",
      ),
      ["src", "data"],
    );
    assert.doesNotMatch(html, /<style|style="/);
    assert.doesNotMatch(html, /<script>alert/, "policy text cannot close the data block");
    const data = pageData(html);
    assert.deepEqual(
      data.providers.map((p) => p.name),
      ["github"],
    );
    assert.match(data.providers[0]?.issuer ?? "", /^http:\/\/127\.0\.0\.1:/);
    assert.deepEqual(data.limits, { maxTtl: 3600, defaultTtl: 900, maxDelegationDepth: 4 });
    assert.equal(data.files.length, 1);
    assert.equal(data.files[0]?.path, "policies.yaml", "named relative to the policy path");
    assert.ok(data.files[0]?.text.includes("</script><script>alert(1)</script>"));
    for (const label of ["Claims", "Token", "Audience", "Scope", "Source IP", "Time"])
      assert.match(html, new RegExp(`<label for="[a-z-]+">${label}</label>`), label);
  });

  it("serves the bundle and the style sheet from its own origin", async () => {
    const js = await on.broker.app.request("/playground/playground.js");
    assert.equal(js.status, 200);
    assert.match(js.headers.get("content-type") ?? "", /^text\/javascript/);
    const bundle = await js.text();
    assert.ok(bundle.length > 10_000);
    assert.doesNotMatch(
      bundle,
      /\bfetch\(|XMLHttpRequest|sendBeacon|WebSocket/,
      "the page code opens no connection",
    );
    const css = await on.broker.app.request("/playground/playground.css");
    assert.equal(css.status, 200);
    assert.match(css.headers.get("content-type") ?? "", /^text\/css/);
    const post = await on.broker.app.request("/playground", { method: "POST" });
    assert.equal(post.status, 405);
  });

  it("is 404 when not enabled (the default)", async () => {
    for (const path of ["/playground", "/playground/playground.js", "/playground/playground.css"]) {
      const res = await off.broker.app.request(path);
      assert.equal(res.status, 404, path);
    }
  });

  it("reflects a policy reload", async () => {
    const { writeFileSync } = await import("node:fs");
    const { join } = await import("node:path");
    writeFileSync(join(on.policyDir, "policies.yaml"), GITHUB_POLICY);
    on.broker.reload();
    const data = pageData(await (await on.broker.app.request("/playground")).text());
    assert.ok(!data.files[0]?.text.includes("alert"));
  });
});
