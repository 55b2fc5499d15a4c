import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { DemoIssuer } from "../../src/dev/demo-issuer.ts";
import { BROKER_ISSUER, formBody, GITHUB_POLICY, JWT_TYPE, TOKEN_EXCHANGE } from "../helpers/broker.ts";
import { startCli } from "../helpers/cli.ts";
import { fixtureClaims } from "../helpers/fixtures.ts";
import { type OtlpReceiver, startOtlpReceiver } from "../helpers/otlp-receiver.ts";

/**
 * `wif-broker serve` as a process, with every module it resolves recorded (test/helpers/module-graph-hook.ts):
 * without the OTEL_* environment no SDK or exporter module is ever loaded, even after an exchange; with it the
 * SDK is loaded, and SIGTERM exports the spans still buffered before the process exits.
 */

const HOOK = new URL("../helpers/module-graph-hook.ts", import.meta.url).href;
const SDK_PACKAGES = [
  "sdk-trace-node",
  "sdk-trace-base",
  "sdk-trace",
  "context-async-hooks",
  "core",
  "resources",
  "semantic-conventions",
  "exporter-trace-otlp-proto",
  "exporter-trace-otlp-http",
  "otlp-exporter-base",
  "otlp-transformer",
];

let idp: DemoIssuer;
let receiver: OtlpReceiver;
let config: string;

/** The @opentelemetry packages, and whether the broker's SDK loader, were in the module graph. */
interface Graph {
  packages: Set<string>;
  loader: boolean;
}

/** Serves, performs one exchange, stops with SIGTERM; what the process loaded. */
async function serveOnce(env: Record<string, string>): Promise<Graph> {
  const out = join(mkdtempSync(join(tmpdir(), "wif-graph-")), "modules.json");
  // The child's environment carries no OTEL_* from this one (empty is unset): only what the case sets.
  const cleared = Object.fromEntries(
    Object.keys(process.env)
      .filter((k) => k.startsWith("OTEL_"))
      .map((k) => [k, ""]),
  );
  const cli = startCli(
    ["serve", "--config", config],
    /wif-broker listening/,
    { ...cleared, WIF_BROKER_SHUTDOWN_DELAY_MS: "0", WIF_TEST_MODULE_GRAPH: out, ...env },
    ["--import", HOOK],
  );
  try {
    const stderr = await cli.started;
    const port = /"port":(\d+)/.exec(stderr)?.[1];
    assert.ok(port, stderr);
    const res = await fetch(`http://127.0.0.1:${port}/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: formBody({
        grant_type: TOKEN_EXCHANGE,
        subject_token: idp.mint(fixtureClaims("github-actions-branch")),
        subject_token_type: JWT_TYPE,
        audience: "https://deploy.acme.internal",
      }),
    });
    assert.equal(res.status, 200, await res.text());
  } finally {
    assert.equal(await cli.stop(), 0, cli.output().stderr);
  }
  const urls = JSON.parse(readFileSync(out, "utf8")) as string[];
  const packages = new Set(
    urls.flatMap((u) => /\/node_modules\/@opentelemetry\/([^/]+)\//.exec(u)?.slice(1) ?? []),
  );
  return { packages, loader: urls.some((u) => u.endsWith("/src/observability/tracing-sdk.ts")) };
}

const sdkLoaded = (g: Graph) => SDK_PACKAGES.filter((p) => g.packages.has(p));

describe("tracing in the process: nothing loaded without OTEL_*, flushed on SIGTERM with it", () => {
  before(async () => {
    idp = await DemoIssuer.start();
    receiver = await startOtlpReceiver();
    const dir = mkdtempSync(join(tmpdir(), "wif-traced-serve-"));
    writeFileSync(join(dir, "policies.yaml"), GITHUB_POLICY);
    config = join(dir, "wif-broker.yaml");
    writeFileSync(
      config,
      `issuer: ${BROKER_ISSUER}\nlisten: { host: 127.0.0.1, port: 0 }\npolicies: ${join(dir, "policies.yaml")}\n` +
        `providers:\n  - { name: github, issuer: "${idp.url}", allowInsecureHttp: true }\n`,
    );
  });
  after(async () => {
    await receiver.close();
    await idp.close();
  });

  it("without the OTEL_* environment no SDK or exporter module is loaded", async () => {
    const graph = await serveOnce({ OTEL_SERVICE_NAME: "set-by-the-platform" });
    assert.deepEqual(sdkLoaded(graph), []);
    assert.equal(graph.loader, false);
    assert.equal(receiver.spans.length, 0);
  });

  it("OTEL_SDK_DISABLED=true wins over an endpoint", async () => {
    const graph = await serveOnce({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SDK_DISABLED: "true" });
    assert.deepEqual(sdkLoaded(graph), []);
    assert.equal(receiver.spans.length, 0);
  });

  it("with an endpoint the SDK is loaded, and SIGTERM exports the buffered spans before exit", async () => {
    const graph = await serveOnce({
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      // Nothing is exported on a timer during the test: what arrives was flushed by the shutdown.
      OTEL_BSP_SCHEDULE_DELAY: "600000",
    });
    assert.equal(graph.loader, true);
    for (const p of ["sdk-trace-node", "exporter-trace-otlp-proto", "resources"])
      assert.ok(graph.packages.has(p), p);
    assert.ok(!graph.packages.has("exporter-trace-otlp-http"), "only the configured protocol's exporter");
    const server = receiver.spans.filter((s) => s.name === "POST /token");
    assert.equal(server.length, 1);
    assert.equal(server[0]?.attributes["wif.result"], "allow");
  });
});
