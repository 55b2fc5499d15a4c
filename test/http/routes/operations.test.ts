import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fakeApp } from "../../helpers/app.ts";

describe("operations routes in-process", () => {
  it("happy: /healthz is ok, /readyz lists components, /metrics is Prometheus text", async () => {
    const { app } = fakeApp();
    assert.deepEqual(await (await app.request("/healthz")).json(), { status: "ok" });
    const ready = await app.request("/readyz");
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { status: "ready", components: { policies: { ok: true } } });
    const metrics = await app.request("/metrics");
    assert.equal(metrics.status, 200);
    assert.match(metrics.headers.get("content-type") ?? "", /^text\/plain/);
    assert.match(await metrics.text(), /# TYPE wif_broker_exchanges_total counter/);
  });

  it("error: not ready → 503 with the failing component", async () => {
    const { app } = fakeApp({
      readiness: () => ({ ready: false, components: { policies: { ok: false, lastError: "bad yaml" } } }),
    });
    const res = await app.request("/readyz");
    assert.equal(res.status, 503);
    assert.equal(((await res.json()) as { status: string }).status, "not_ready");
  });

  it("security: during shutdown every response closes its connection; a thrown handler is a generic 500", async () => {
    const shutting = fakeApp({ shuttingDown: () => true });
    assert.equal((await shutting.app.request("/healthz")).headers.get("connection"), "close");
    const broken = fakeApp({
      readiness: () => {
        throw new Error("secret detail");
      },
    });
    const res = await broken.app.request("/readyz");
    assert.equal(res.status, 500);
    const body = await res.text();
    assert.equal(body.includes("secret"), false);
    assert.match(body, /internal error \(request id req-1\)/);
    assert.equal(broken.logs.length, 1);
  });
});
