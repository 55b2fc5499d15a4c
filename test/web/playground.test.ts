import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { BrowserContext, Page, Request } from "playwright-core";
import { PLAYGROUND_CSP } from "../../src/http/routes/playground.ts";
import { GITHUB_POLICY, startTestBroker, type TestBroker } from "../helpers/broker.ts";
import { fixtureClaims } from "../helpers/fixtures.ts";
import { freshPlaygroundBundle } from "../helpers/playground.ts";
import { launchChromium } from "./chromium.ts";

const DEPLOY = "https://deploy.acme.internal";
/** Strings that must never appear in any request the page makes. */
const CLAIM_MARKER = "octo-org/claims-marker-5b1e";
const TOKEN_MARKER = "octo-org/token-marker-9c2d";
const YAML_MARKER = "pasted-yaml-marker-7f3a";

describe("the playground in Chromium (CONTRACT §13)", { timeout: 180_000 }, () => {
  let b: TestBroker;
  let disabled: TestBroker;
  let context: BrowserContext;
  let dir: string;
  let page: Page;
  const requests: Request[] = [];
  const problems: string[] = [];

  before(async () => {
    b = await startTestBroker({
      policies: GITHUB_POLICY,
      config: { playground: { enabled: true } },
      playgroundAssets: await freshPlaygroundBundle(),
    });
    disabled = await startTestBroker({ policies: GITHUB_POLICY, idp: b.idp });
    ({ context, dir } = await launchChromium());
    context.on("request", (r) => requests.push(r));
    page = await context.newPage();
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    page.on("console", (m) => {
      // Chromium asks for /favicon.ico on its own (404, answered below); anything else is a problem.
      if (m.type() === "error" && !/Failed to load resource: .* 404/.test(m.text()))
        problems.push(`console: ${m.text()}`);
    });
    page.on("response", (r) => {
      if (
        r.status() >= 400 &&
        new URL(r.url()).pathname !== "/favicon.ico" &&
        !r.url().startsWith(disabled.url)
      )
        problems.push(`${r.status()} ${r.url()}`);
    });
  });
  after(async () => {
    await context?.close();
    await disabled?.close();
    await b?.close();
  });

  const shot = (name: string) => page.screenshot({ path: join(dir, `${name}.png`), fullPage: true });
  const fill = async (label: string, value: string) => page.getByLabel(label, { exact: true }).fill(value);
  const decision = () => page.locator("#decision").textContent();
  const failingRow = (policy: string, check: string) =>
    page
      .locator(`table.trace[data-policy="${policy}"] tr.fail`)
      .filter({ has: page.locator("th", { hasText: check }) });

  it("loads with a strict CSP and shows the broker's loaded set read-only", async (t) => {
    const res = await page.goto(`${b.url}/playground`);
    assert.equal(res?.status(), 200);
    assert.equal(res?.headers()["content-security-policy"], PLAYGROUND_CSP);
    const loaded = page.getByLabel("Loaded policies (read-only)");
    assert.match(await loaded.inputValue(), /name: octo-deploy/);
    assert.equal(await loaded.getAttribute("readonly"), "");
    // Every control is labelled (and so reachable by name for assistive technology).
    const unlabelled = await page.$$eval("input, select, textarea", (els) =>
      els
        .filter((e) => (e as unknown as { labels: { length: number } }).labels.length === 0)
        .map((e) => e.id),
    );
    assert.deepEqual(unlabelled, []);
    for (const label of ["Claims", "Token", "Audience", "Scope", "Source IP", "Time"])
      assert.equal(await page.getByLabel(label, { exact: true }).count(), 1, label);
    await shot("loaded");
    t.diagnostic(`screenshots: ${dir}`);
  });

  it("allows matching claims: the admitting policy and the issued claims", async () => {
    await fill(
      "Claims",
      JSON.stringify(fixtureClaims("github-actions-branch", { repository: CLAIM_MARKER })),
    );
    await fill("Audience", DEPLOY);
    await fill("Scope", "deploy:write");
    assert.equal(await decision(), "Allow");
    assert.match((await page.locator("#admitting-policy").textContent()) ?? "", /octo-deploy/);
    const issued = page.locator("#issued-claims");
    assert.match(
      (await issued.locator("tr", { hasText: "sub" }).first().textContent()) ?? "",
      new RegExp(`github:${CLAIM_MARKER}`),
    );
    assert.match((await issued.locator("tr", { hasText: "scope" }).textContent()) ?? "", /deploy:write/);
    await shot("allow");
  });

  it("denies, naming the failing check with its expected and actual values", async () => {
    await fill(
      "Claims",
      JSON.stringify(
        fixtureClaims("github-actions-branch", { repository: CLAIM_MARKER, ref: "refs/tags/v1" }),
      ),
    );
    assert.equal(await decision(), "Deny");
    const row = failingRow("octo-deploy", "match.ref");
    assert.equal(await row.count(), 1);
    assert.equal(await row.locator("td.expected").textContent(), 'glob "refs/heads/*"');
    assert.equal(await row.locator("td.actual").textContent(), '"refs/tags/v1"');
    // Every check of the candidate is listed, passing ones included.
    assert.ok((await page.locator('table.trace[data-policy="octo-deploy"] tr.pass').count()) >= 2);
    await fill("Source IP", "192.0.2.10");
    await fill("Time", "2026-12-01T09:30:00Z");
    assert.equal(await decision(), "Deny");
    await shot("deny");
  });

  it("decodes a pasted JWT into Claims and decides on it", async () => {
    const token = b.idp.mint(fixtureClaims("github-actions-branch", { repository: TOKEN_MARKER }));
    await fill("Token", token);
    assert.match((await page.locator("#token-status").textContent()) ?? "", /decoded/);
    assert.match(await page.getByLabel("Claims", { exact: true }).inputValue(), new RegExp(TOKEN_MARKER));
    assert.equal(await decision(), "Allow");
    await fill("Token", "not.a.jwt!");
    assert.match((await page.locator("#token-status").textContent()) ?? "", /^Token: not a JWT/);
    await fill("Token", token);
    await shot("token");
  });

  it("evaluates pasted YAML instead of the loaded set, keyboard only", async () => {
    await page.getByLabel("pasted YAML").focus();
    await page.keyboard.press("Space");
    const yaml = page.getByLabel("Policies (YAML)");
    await yaml.focus();
    await page.keyboard.press("ControlOrMeta+A");
    await page.keyboard.insertText(
      GITHUB_POLICY.replace('ref: { glob: "refs/heads/*" }', 'ref: { glob: "refs/tags/*" }').replace(
        "metadata: { name: octo-deploy }",
        `metadata: { name: pasted-deploy, description: ${YAML_MARKER} }`,
      ),
    );
    await fill("Token", "");
    await fill("Claims", JSON.stringify(fixtureClaims("github-actions-branch", { ref: "refs/tags/v1" })));
    assert.equal(await decision(), "Allow");
    assert.match((await page.locator("#admitting-policy").textContent()) ?? "", /pasted-deploy/);
    // A broken pasted set shows its problem and decides nothing.
    await yaml.fill("apiVersion: wif-broker/v1\nkind: TrustPolicy\nmetadata: { name: x }\nspec: *a\n");
    assert.match(
      (await page.locator("#policy-problems").textContent()) ?? "",
      /YAML aliases are not allowed in policy files/,
    );
    assert.equal(await page.locator("#decision").count(), 0);
    await shot("pasted");
  });

  it("made no request carrying pasted tokens, claims or policies (every request recorded)", async () => {
    assert.deepEqual(problems, [], "no page errors and no CSP violations");
    assert.ok(requests.length >= 3);
    const origin = new URL(b.url).origin;
    for (const r of requests) {
      const text = [r.url(), r.method(), JSON.stringify(await r.allHeaders()), r.postData() ?? ""].join("\n");
      for (const marker of [CLAIM_MARKER, TOKEN_MARKER, YAML_MARKER, "eyJ"])
        assert.ok(!text.includes(marker), `${r.method()} ${r.url()} carries ${marker}`);
      assert.equal(r.method(), "GET", r.url());
      assert.equal(new URL(r.url()).origin, origin, r.url());
      assert.equal(r.postData(), null);
    }
    const paths = new Set(requests.map((r) => new URL(r.url()).pathname));
    for (const p of paths)
      assert.ok(
        ["/playground", "/playground/playground.js", "/playground/playground.css", "/favicon.ico"].includes(
          p,
        ),
        p,
      );
  });

  it("is 404 when the playground is not enabled", async () => {
    const res = await page.goto(`${disabled.url}/playground`);
    assert.equal(res?.status(), 404);
  });
});
