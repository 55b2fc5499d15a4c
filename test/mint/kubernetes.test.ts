import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import { BrokerError } from "../../src/errors.ts";
import { createKubernetesMinter, type KubernetesMinterOptions } from "../../src/mint/kubernetes.ts";
import { TOKEN_TYPE } from "../../src/mint/types.ts";
import type { KubernetesTargetSpec } from "../../src/policy/schema.ts";
import type { Grant } from "../../src/policy/types.ts";
import {
  type FakeKubernetes,
  KUBE_FAILURES,
  kubeConfigFor,
  startFakeKubernetes,
} from "../fakes/kubernetes-server.ts";
import { captureOutput } from "../helpers/capture-output.ts";
import { FAST_RETRY, grantFor, manualClock, T0 } from "./mint-test-kit.ts";

function k8sGrant(kubernetes: Partial<KubernetesTargetSpec> = {}, over: Partial<Grant> = {}): Grant {
  return grantFor(
    {
      kind: "kubernetes",
      audience: "k8s-prod-ci",
      kubernetes: { cluster: "prod", namespace: "ci", serviceAccount: "deployer", ...kubernetes },
    },
    { policy: "ci-deploy", ...over },
  );
}

const payloadOf = (jwt: string): Record<string, unknown> =>
  JSON.parse(Buffer.from(jwt.split(".")[1] ?? "", "base64url").toString("utf8")) as Record<string, unknown>;

describe("kubernetes minter (real @kubernetes/client-node against a fake API server)", () => {
  const time = manualClock();
  const { clock, ctx } = time;
  let prod: FakeKubernetes;
  let staging: FakeKubernetes;
  const minter = (over: Partial<KubernetesMinterOptions> = {}) =>
    createKubernetesMinter({
      clusters: [
        { name: "prod", kubeConfig: kubeConfigFor(prod) },
        { name: "staging", kubeConfig: kubeConfigFor(staging) },
      ],
      clock,
      retry: FAST_RETRY,
      ...over,
    });

  before(async () => {
    prod = await startFakeKubernetes({ now: clock });
    staging = await startFakeKubernetes({ now: clock });
  });
  after(async () => {
    await prod.close();
    await staging.close();
  });
  beforeEach(() => {
    time.now = T0;
    prod.reset();
    staging.reset();
  });

  it("creates a TokenRequest for the namespace/service account with audiences and expiration", async () => {
    const issued = await minter().mint(
      k8sGrant({ audiences: ["https://kubernetes.default.svc", "vault"], expiration: 600 }),
      ctx(),
    );

    assert.equal(prod.requests.length, 1);
    assert.equal(staging.requests.length, 0);
    const [req] = prod.requests;
    assert.ok(req);
    assert.equal(req.path, "/api/v1/namespaces/ci/serviceaccounts/deployer/token");
    assert.equal(req.authorization, `Bearer ${prod.bearerToken}`, "the kubeconfig's identity");
    assert.deepEqual(req.body, {
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenRequest",
      spec: { audiences: ["https://kubernetes.default.svc", "vault"], expirationSeconds: 600 },
    });

    const token = prod.issued[0] ?? "";
    assert.deepEqual(issued, {
      accessToken: token,
      issuedTokenType: TOKEN_TYPE.jwt,
      tokenType: "Bearer",
      expiresIn: 600,
      jti: payloadOf(token).jti,
    });
  });

  it("routes to the named cluster", async () => {
    await minter().mint(k8sGrant({ cluster: "staging", namespace: "qa", serviceAccount: "runner" }), ctx());
    assert.equal(prod.requests.length, 0);
    assert.equal(staging.requests[0]?.path, "/api/v1/namespaces/qa/serviceaccounts/runner/token");
  });

  describe("expirationSeconds", () => {
    const cases: Array<{ name: string; ttl: number; expiration?: number; want: number }> = [
      { name: "raised to the TokenRequest minimum of 600 s", ttl: 300, want: 600 },
      { name: "the grant ttl", ttl: 900, want: 900 },
      { name: "the target's shorter expiration", ttl: 3600, expiration: 1200, want: 1200 },
      { name: "never longer than the grant ttl", ttl: 900, expiration: 3600, want: 900 },
      { name: "at least 600 even when the target asks less", ttl: 3600, expiration: 300, want: 600 },
    ];
    for (const c of cases) {
      it(c.name, async () => {
        const spec = c.expiration === undefined ? {} : { expiration: c.expiration };
        const issued = await minter().mint(k8sGrant(spec, { ttl: c.ttl }), ctx());
        const body = prod.requests[0]?.body as { spec: { expirationSeconds: number } };
        assert.equal(body.spec.expirationSeconds, c.want);
        assert.equal(issued.expiresIn, c.want);
      });
    }
  });

  it("an unknown cluster is invalid_target, with no API call", async () => {
    await assert.rejects(minter().mint(k8sGrant({ cluster: "nope" }), ctx()), {
      kind: "invalid_target",
      reason: "kubernetes.unknown_cluster",
    });
    assert.equal(prod.requests.length + staging.requests.length, 0);
  });

  describe("upstream failures", () => {
    for (const [name, failure] of [
      ["403 Forbidden", KUBE_FAILURES.forbidden],
      ["404 NotFound", KUBE_FAILURES.notFound],
    ] as const) {
      it(`${name}: invalid_target, not retried, no upstream message`, async () => {
        prod.fail(failure);
        await assert.rejects(minter().mint(k8sGrant(), ctx()), (e: unknown) => {
          assert.ok(e instanceof BrokerError);
          assert.equal(e.kind, "invalid_target");
          assert.equal(e.reason, "upstream.kubernetes.refused");
          assert.equal(e.detail, `HTTP ${failure.code}`);
          assert.ok(!`${e.message} ${e.detail}`.includes("SECRET-UPSTREAM-DETAIL"));
          assert.ok(!`${e.message} ${e.detail}`.includes("forbidden"));
          assert.equal(e.cause, undefined);
          return true;
        });
        assert.equal(prod.requests.length, 1);
      });
    }

    it("429: bounded retries, then unavailable with the API server's Retry-After", async () => {
      prod.fail(KUBE_FAILURES.tooManyRequests, KUBE_FAILURES.tooManyRequests, KUBE_FAILURES.tooManyRequests);
      await assert.rejects(minter().mint(k8sGrant(), ctx()), {
        kind: "unavailable",
        reason: "upstream.kubernetes.unavailable",
        retryAfter: 7,
      });
      assert.equal(prod.requests.length, 3);
    });

    it("500 then success: retried transparently", async () => {
      prod.fail(KUBE_FAILURES.internal);
      const issued = await minter().mint(k8sGrant(), ctx());
      assert.equal(prod.requests.length, 2);
      assert.equal(issued.accessToken, prod.issued[0]);
    });

    it("the broker's own kubeconfig credentials rejected (401) is a server_error, not the client's fault", async () => {
      const wrong = kubeConfigFor({ url: prod.url, bearerToken: "not-the-right-token" });
      const m = minter({ clusters: [{ name: "prod", kubeConfig: wrong }] });
      await assert.rejects(m.mint(k8sGrant(), ctx()), {
        kind: "server_error",
        reason: "upstream.kubernetes.error",
        detail: "HTTP 401",
      });
      assert.equal(prod.requests.length, 1);
    });

    it("an unreachable API server is unavailable", async () => {
      const dead = await startFakeKubernetes();
      await dead.close();
      const m = minter({ clusters: [{ name: "prod", kubeConfig: kubeConfigFor(dead) }] });
      await assert.rejects(m.mint(k8sGrant(), ctx()), {
        kind: "unavailable",
        reason: "upstream.kubernetes.unavailable",
      });
    });
  });

  it("rejects two clusters with the same name when built", () => {
    assert.throws(
      () =>
        createKubernetesMinter({
          clusters: [
            { name: "prod", kubeConfig: kubeConfigFor(prod) },
            { name: "prod", kubeConfig: kubeConfigFor(staging) },
          ],
        }),
      TypeError,
    );
  });

  it("writes no token to stdout/stderr while minting", async () => {
    const { result, output } = await captureOutput(async () => {
      const m = minter();
      const a = await m.mint(k8sGrant(), ctx());
      prod.fail(KUBE_FAILURES.forbidden);
      await m.mint(k8sGrant(), ctx()).catch(() => undefined);
      return a.accessToken;
    });
    assert.equal(result, prod.issued[0]);
    for (const s of [...prod.issued, prod.bearerToken])
      assert.ok(!output.includes(s), "a token reached stdout/stderr");
  });
});
