/**
 * `wif-broker exchange --format kubectl` as a kubeconfig `exec` credential plugin, run by a stock client
 * (@kubernetes/client-node's ExecAuth, which implements kubectl's exec protocol): the broker's token becomes the
 * API requests' bearer token, and `expirationTimestamp` lets the client reuse it until it expires.
 */
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import type { RequestOptions } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { KubeConfig } from "@kubernetes/client-node";
import { startTestBroker, type TestBroker } from "../helpers/broker.ts";
import { CLI } from "../helpers/cli.ts";
import { fixtureClaims } from "../helpers/fixtures.ts";

const POLICIES = `
apiVersion: wif-broker/v1
kind: TrustPolicy
metadata: { name: octo-cluster }
spec:
  provider: github
  match: { repository_owner_id: "65", repository_id: "74", ref: { glob: "refs/heads/*" } }
  grant:
    targets:
      - { audience: https://kubernetes.acme.internal, ttl: 10m }
`;

describe("wif-broker exchange --format kubectl (kubeconfig exec plugin)", () => {
  let b: TestBroker;
  let tokenFile: string;
  before(async () => {
    b = await startTestBroker({ policies: POLICIES });
    tokenFile = join(mkdtempSync(join(tmpdir(), "wif-kubectl-")), "token.jwt");
    writeFileSync(tokenFile, b.idp.mint(fixtureClaims("github-actions-branch"), { ttl: 3600 }));
  });
  after(() => b.close());

  function kubeconfig(audience: string): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: "prod", server: "https://kubernetes.acme.internal", skipTLSVerify: false }],
      users: [
        {
          name: "broker",
          exec: {
            apiVersion: "client.authentication.k8s.io/v1",
            command: process.execPath,
            args: [
              CLI,
              "exchange",
              "--broker",
              b.url,
              "--audience",
              audience,
              "--token-file",
              tokenFile,
            ].concat(["--format", "kubectl"]),
            interactiveMode: "Never",
          },
        },
      ],
      contexts: [{ name: "prod", cluster: "prod", user: "broker" }],
      currentContext: "prod",
    });
    return kc;
  }

  async function authorization(kc: KubeConfig): Promise<string> {
    const opts: RequestOptions = {};
    await kc.applyToHTTPSOptions(opts);
    const headers = (opts.headers ?? {}) as Record<string, unknown>;
    return String(headers.Authorization ?? "");
  }

  it("the client sends the broker's token and reuses it until its expirationTimestamp", async () => {
    const kc = kubeconfig("https://kubernetes.acme.internal");
    const before = b.audit.length;
    const auth = await authorization(kc);
    assert.match(auth, /^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
    const payload = JSON.parse(Buffer.from(auth.split(".")[1] ?? "", "base64url").toString()) as Record<
      string,
      unknown
    >;
    assert.equal(payload.aud, "https://kubernetes.acme.internal");
    assert.equal((payload.exp as number) - (payload.iat as number), 600);
    assert.equal(await authorization(kc), auth);
    assert.equal(b.audit.length - before, 1, "one exchange: the client honoured expirationTimestamp");
  });

  it("a refusal reaches the client as the plugin's failure, without a token", async () => {
    const kc = kubeconfig("https://elsewhere.example");
    await assert.rejects(authorization(kc));
  });
});
