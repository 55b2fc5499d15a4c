import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import { BrokerError } from "../../src/errors.ts";
import { createTokenReviewer } from "../../src/identity/token-review.ts";
import {
  type FakeKubernetes,
  KUBE_FAILURES,
  kubeConfigFor,
  startFakeKubernetes,
} from "../fakes/kubernetes-server.ts";

const POD_TOKEN = "eyJhbGciOiJSUzI1NiJ9.pod-token-payload.signature";
const SA = {
  username: "system:serviceaccount:ci:runner",
  uid: "5f8c6b1e-uid",
  audiences: ["https://broker.example.com"],
};
const FAST_RETRY = { attempts: 3, baseDelayMs: 1, maxDelayMs: 2 };

describe("TokenReviewer (real @kubernetes/client-node against a fake API server)", () => {
  let kube: FakeKubernetes;
  const signal = () => AbortSignal.timeout(10_000);
  const reviewer = () => createTokenReviewer(kubeConfigFor(kube), { retry: FAST_RETRY });

  before(async () => {
    kube = await startFakeKubernetes();
  });
  after(() => kube.close());
  beforeEach(() => {
    kube.reset();
    kube.addReviewableToken(POD_TOKEN, SA);
  });

  it("posts a TokenReview and returns the authenticated identity", async () => {
    const result = await reviewer().review(POD_TOKEN, ["https://broker.example.com"], signal());

    assert.deepEqual(result, {
      authenticated: true,
      username: SA.username,
      uid: SA.uid,
      audiences: ["https://broker.example.com"],
    });
    const [req] = kube.requests;
    assert.ok(req);
    assert.equal(req.path, "/apis/authentication.k8s.io/v1/tokenreviews");
    assert.equal(req.authorization, `Bearer ${kube.bearerToken}`);
    assert.deepEqual(req.body, {
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenReview",
      spec: { token: POD_TOKEN, audiences: ["https://broker.example.com"] },
    });
  });

  it("an unknown token is unauthenticated (a result, not an error), and the result never carries the token", async () => {
    const result = await reviewer().review("eyJ.unknown.token", ["https://broker.example.com"], signal());
    assert.deepEqual(result, { authenticated: false });
  });

  it("a token for another audience is unauthenticated", async () => {
    const result = await reviewer().review(POD_TOKEN, ["https://other.example.com"], signal());
    assert.deepEqual(result, { authenticated: false });
  });

  it("refuses an audience-unaware answer when audiences were requested", async () => {
    kube.addReviewableToken(POD_TOKEN, { ...SA, audienceAware: false });
    assert.deepEqual(await reviewer().review(POD_TOKEN, ["https://broker.example.com"], signal()), {
      authenticated: false,
    });
    // Without requested audiences there is nothing to check.
    const open = await reviewer().review(POD_TOKEN, [], signal());
    assert.equal(open.authenticated, true);
    assert.deepEqual(kube.requests[1]?.body, {
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenReview",
      spec: { token: POD_TOKEN },
    });
  });

  it("5xx: bounded retries, then unavailable", async () => {
    kube.fail(KUBE_FAILURES.unavailable, KUBE_FAILURES.unavailable, KUBE_FAILURES.unavailable);
    await assert.rejects(reviewer().review(POD_TOKEN, [], signal()), (e: unknown) => {
      assert.ok(e instanceof BrokerError);
      assert.equal(e.kind, "unavailable");
      assert.equal(e.reason, "upstream.kubernetes.unavailable");
      assert.ok((e.retryAfter ?? 0) >= 1);
      return true;
    });
    assert.equal(kube.requests.length, 3);
  });

  it("500 then success: retried transparently", async () => {
    kube.fail(KUBE_FAILURES.internal);
    const result = await reviewer().review(POD_TOKEN, [], signal());
    assert.equal(result.authenticated, true);
    assert.equal(kube.requests.length, 2);
  });

  it("403 (the broker lacks RBAC for tokenreviews) is a server_error, never the client's fault", async () => {
    kube.fail(KUBE_FAILURES.forbidden);
    await assert.rejects(reviewer().review(POD_TOKEN, [], signal()), (e: unknown) => {
      assert.ok(e instanceof BrokerError);
      assert.equal(e.kind, "server_error");
      assert.equal(e.reason, "upstream.kubernetes.token_review_refused");
      assert.ok(!`${e.message} ${e.detail}`.includes("SECRET-UPSTREAM-DETAIL"));
      assert.ok(!`${e.message} ${e.detail}`.includes(POD_TOKEN));
      return true;
    });
    assert.equal(kube.requests.length, 1);
  });

  it("an unreachable API server is unavailable", async () => {
    const dead = await startFakeKubernetes();
    await dead.close();
    const r = createTokenReviewer(kubeConfigFor(dead), { retry: FAST_RETRY });
    await assert.rejects(r.review(POD_TOKEN, [], signal()), { kind: "unavailable" });
  });

  it("an already expired deadline makes no call", async () => {
    const aborted = AbortSignal.abort();
    await assert.rejects(reviewer().review(POD_TOKEN, [], aborted), {
      kind: "unavailable",
      detail: "deadline",
    });
    assert.equal(kube.requests.length, 0);
  });
});
