import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, beforeEach, describe, it } from "node:test";
import { TOKEN_TYPE } from "../../src/mint/types.ts";
import { type FakeKubernetes, KUBE_FAILURES, startFakeKubernetes } from "../fakes/kubernetes-server.ts";
import { BROKER_ISSUER, startTestBroker, type TestBroker } from "../helpers/broker.ts";
import { CLI, type CliResult } from "../helpers/cli.ts";
import { fixtureClaims } from "../helpers/fixtures.ts";

/**
 * Kubernetes end to end: TokenRequest on a target cluster named in `targets.kubernetes.clusters` (a kubeconfig
 * file), and a provider whose service-account tokens are validated by that cluster's TokenReview API instead of
 * a JWKS. Both clusters are loopback fakes of the API server; the broker uses @kubernetes/client-node.
 */

const POD_ISSUER = "https://oidc.prod-cluster.example.com";
const POD_CLAIMS = { ...fixtureClaims("kubernetes-projected"), iss: POD_ISSUER };
const SA_UID = "3d4e5f6a-0000-4000-8000-000000000003";

const POLICIES = `
apiVersion: wif-broker/v1
kind: TrustPolicy
metadata: { name: octo-k8s }
spec:
  provider: github
  match: { repository_owner_id: "65", repository_id: "74", ref: { glob: "refs/heads/*" } }
  grant:
    ttl: 15m
    targets:
      - audience: k8s-prod-ci
        kubernetes: { cluster: prod, namespace: ci, serviceAccount: deployer, audiences: [https://kubernetes.default.svc], expiration: 10m }
---
apiVersion: wif-broker/v1
kind: TrustPolicy
metadata: { name: k8s-payments-api }
spec:
  provider: prod-cluster
  match: { sub: "system:serviceaccount:payments:api", /kubernetes.io/namespace: payments, /kubernetes.io/serviceaccount/uid: ${SA_UID} }
  grant:
    targets:
      - audience: https://ledger.acme.internal
      - audience: k8s-prod-ci
        kubernetes: { cluster: prod, namespace: ci, serviceAccount: deployer }
`;

/**
 * A kubeconfig file as an operator writes it (bearer-token user). The fake speaks plain http, which
 * @kubernetes/client-node only allows with insecure-skip-tls-verify (as the helper tests' kubeConfigFor does).
 */
function kubeconfigFile(dir: string, name: string, kube: FakeKubernetes): string {
  const file = join(dir, `${name}.kubeconfig`);
  writeFileSync(
    file,
    `apiVersion: v1
kind: Config
clusters: [{ name: ${name}, cluster: { server: "${kube.url}", insecure-skip-tls-verify: true } }]
users: [{ name: wif-broker, user: { token: "${kube.bearerToken}" } }]
contexts: [{ name: ${name}, context: { cluster: ${name}, user: wif-broker } }]
current-context: ${name}
`,
  );
  return file;
}

/** `wif-broker exchange` as a child process, without blocking the broker that lives in this process. */
function exchangeCli(args: string[]): Promise<CliResult> {
  const child = spawn(process.execPath, [CLI, "exchange", ...args], { stdio: ["ignore", "pipe", "pipe"] });
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

describe("Kubernetes end to end (TokenRequest target, TokenReview provider)", () => {
  let prod: FakeKubernetes;
  let podCluster: FakeKubernetes;
  let b: TestBroker;
  let dir: string;
  /**
   * A projected service-account token of the pod cluster (its signature is the API server's business). A fresh
   * jti each time: the fake API server remembers which tokens it authenticates.
   */
  const podToken = () => b.idp.mint({ ...POD_CLAIMS, jti: randomUUID() });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "wif-e2e-k8s-"));
    prod = await startFakeKubernetes();
    podCluster = await startFakeKubernetes();
    b = await startTestBroker({
      policies: POLICIES,
      config: {
        targets: {
          kubernetes: { clusters: [{ name: "prod", kubeconfig: kubeconfigFile(dir, "prod", prod) }] },
        },
      },
      providers: [
        {
          name: "prod-cluster",
          issuer: POD_ISSUER,
          kubernetes: { tokenReview: { kubeconfig: kubeconfigFile(dir, "pods", podCluster) } },
        },
      ],
    });
  });
  after(async () => {
    await b.close();
    await prod.close();
    await podCluster.close();
  });
  beforeEach(() => {
    prod.reset();
    podCluster.reset();
  });

  it("TokenRequest: a Bearer JWT for the target service account, with the target's audiences and expiration", async () => {
    const res = await b.exchange(b.idp.mint(fixtureClaims("github-actions-branch")), "k8s-prod-ci");
    assert.equal(res.status, 200);
    const body = (await res.json()) as Record<string, unknown>;
    assert.equal(body.issued_token_type, TOKEN_TYPE.jwt);
    assert.equal(body.token_type, "Bearer");
    assert.equal(body.access_token, prod.issued[0]);
    assert.ok(
      Number.isInteger(body.expires_in) &&
        (body.expires_in as number) > 590 &&
        (body.expires_in as number) <= 600,
    );

    assert.equal(prod.requests.length, 1);
    const [req] = prod.requests;
    assert.equal(req?.path, "/api/v1/namespaces/ci/serviceaccounts/deployer/token");
    assert.equal(req?.authorization, `Bearer ${prod.bearerToken}`, "the kubeconfig's identity");
    assert.deepEqual(req?.body, {
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenRequest",
      spec: { audiences: ["https://kubernetes.default.svc"], expirationSeconds: 600 },
    });
    assert.equal(b.audit.at(-1)?.target_kind, "kubernetes");
  });

  it("TokenRequest refused by the API server (403): 400 invalid_target without its message", async () => {
    prod.fail(KUBE_FAILURES.forbidden);
    const res = await b.exchange(b.idp.mint(fixtureClaims("github-actions-branch")), "k8s-prod-ci");
    assert.equal(res.status, 400);
    const text = await res.text();
    assert.equal((JSON.parse(text) as { error: string }).error, "invalid_target");
    assert.doesNotMatch(text, /SECRET-UPSTREAM-DETAIL|forbidden/);
  });

  describe("a provider validated by TokenReview", () => {
    it("an authenticated service-account token is admitted; no JWKS is fetched", async () => {
      const token = podToken();
      podCluster.addReviewableToken(token, {
        username: "system:serviceaccount:payments:api",
        uid: SA_UID,
        audiences: [BROKER_ISSUER],
      });
      const res = await b.exchange(token, "https://ledger.acme.internal");
      assert.equal(res.status, 200, JSON.stringify(b.audit.at(-1)));
      const body = (await res.json()) as Record<string, unknown>;
      assert.equal(body.issued_token_type, TOKEN_TYPE.accessToken);

      assert.equal(podCluster.requests.length, 1);
      const [review] = podCluster.requests;
      assert.equal(review?.path, "/apis/authentication.k8s.io/v1/tokenreviews");
      assert.equal(review?.authorization, `Bearer ${podCluster.bearerToken}`);
      // The provider's audiences (default: the broker's issuer) are what the API server must confirm.
      assert.deepEqual(review?.body, {
        apiVersion: "authentication.k8s.io/v1",
        kind: "TokenReview",
        spec: { token, audiences: [BROKER_ISSUER] },
      });
      assert.equal(b.audit.at(-1)?.policy, "k8s-payments-api");
      const metrics = await (await fetch(`${b.url}/metrics`)).text();
      assert.doesNotMatch(metrics, /wif_broker_jwks_fetches_total\{[^}]*provider="prod-cluster"/);
    });

    it("an unauthenticated token (unknown to the API server) is 400 invalid_request", async () => {
      const res = await b.exchange(podToken(), "https://ledger.acme.internal");
      assert.equal(res.status, 400);
      assert.equal(((await res.json()) as { error: string }).error, "invalid_request");
      assert.equal(podCluster.requests.length, 1);
      assert.equal(b.audit.at(-1)?.reason, "jwt.review_rejected");
    });

    it("a token the API server authenticates for another audience is 400 invalid_request", async () => {
      const token = podToken();
      podCluster.addReviewableToken(token, {
        username: "system:serviceaccount:payments:api",
        uid: SA_UID,
        audiences: ["vault"],
      });
      const res = await b.exchange(token, "https://ledger.acme.internal");
      assert.equal(res.status, 400);
      assert.equal(((await res.json()) as { error: string }).error, "invalid_request");
    });

    it("TokenReview unavailable: 503 temporarily_unavailable with Retry-After", async () => {
      podCluster.fail(KUBE_FAILURES.unavailable, KUBE_FAILURES.unavailable, KUBE_FAILURES.unavailable);
      const res = await b.exchange(podToken(), "https://ledger.acme.internal");
      assert.equal(res.status, 503);
      assert.ok(Number(res.headers.get("retry-after")) >= 1);
    });

    it("the whole chain from a pod: `exchange --k8s` → TokenReview → TokenRequest on the target cluster", async () => {
      const token = podToken();
      podCluster.addReviewableToken(token, {
        username: "system:serviceaccount:payments:api",
        uid: SA_UID,
        audiences: [BROKER_ISSUER],
      });
      const file = join(dir, "wif-broker-token");
      writeFileSync(file, `${token}\n`);
      const r = await exchangeCli([
        "--broker",
        b.url,
        "--audience",
        "k8s-prod-ci",
        "--k8s",
        "--k8s-token-file",
        file,
        "--format",
        "token",
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `${prod.issued[0]}\n`);
      assert.ok(!`${r.stdout}${r.stderr}`.includes(token));
      assert.equal(podCluster.requests.length, 1);
      assert.equal(prod.requests[0]?.path, "/api/v1/namespaces/ci/serviceaccounts/deployer/token");
    });
  });
});
