import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, beforeEach, describe, it } from "node:test";
import { IdentityPoolClient } from "google-auth-library";
import { TOKEN_TYPE } from "../../src/mint/types.ts";
import {
  type FakeIamCredentials,
  IAM_FAILURES,
  startFakeIamCredentials,
} from "../fakes/iam-credentials-server.ts";
import { closeServer, listenOnLoopback, withBody } from "../fakes/loopback.ts";
import { JWT_TYPE, startTestBroker, type TestBroker, TOKEN_EXCHANGE } from "../helpers/broker.ts";
import { fixtureClaims } from "../helpers/fixtures.ts";

/**
 * GCP end to end: google-auth-library's stock `external_account` credential with token_url = the broker, the
 * broker calling the IAM Credentials API (real @google-cloud/iam-credentials REST client, loopback fake) with its
 * own Application Default Credentials. ADC is not injected: the broker finds it the way it does on GCE/GKE/Cloud
 * Run, from a metadata server (a loopback fake, via GCE_METADATA_HOST), so the config's `targets.gcp` wiring is
 * what is under test.
 */

const SA = "deployer@acme-prod.iam.gserviceaccount.com";
const CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform";
const AUDIENCE = "gcp-deployer";
/** The audience `gcloud iam workload-identity-pools create-cred-config` writes: the pool provider's resource name. */
const GCLOUD_AUDIENCE =
  "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/ci-pool/providers/wif-broker";
const ADC_TOKEN = `ya29.broker-adc-${randomBytes(12).toString("hex")}`;

const POLICY = `
apiVersion: wif-broker/v1
kind: TrustPolicy
metadata: { name: octo-gcp }
spec:
  provider: github
  match: { repository_owner_id: "65", repository_id: "74", ref: { glob: "refs/heads/*" } }
  grant:
    ttl: 15m
    targets:
      - audience: ${AUDIENCE}
        aliases: ["${GCLOUD_AUDIENCE}"]
        gcp: { serviceAccount: ${SA}, scopes: [${CLOUD_PLATFORM}], lifetime: 10m }
`;

interface SentForm {
  headers: IncomingHttpHeaders;
  form: URLSearchParams;
}

describe("GCP end to end (stock external_account client → broker → IAM Credentials)", () => {
  let iam: FakeIamCredentials;
  let b: TestBroker;
  let dir: string;
  const saved: Record<string, string | undefined> = {};

  // The broker's own ADC: a fake GCE metadata server (the real one insists on Metadata-Flavor: Google).
  let metadata: Server;
  const adcRequests: string[] = [];

  // A recording pass-through in front of the broker: shows exactly what the stock client sends.
  let proxy: Server;
  let tokenUrl = "";
  const sent: SentForm[] = [];

  let sub = 0;
  const workloadToken = () =>
    b.idp.mint({ ...fixtureClaims("github-actions-branch"), sub: `repo:octo-org/octo-repo:run:${++sub}` });
  const credentialFile = (token: string) => {
    const file = join(dir, `token-${sub}.jwt`);
    writeFileSync(file, `${token}\n`);
    return file;
  };
  /**
   * The JSON of a credential file with the broker as token_url, through the library's own constructor for a
   * file-sourced credential (`ExternalAccountClient.fromJSON` picks the same class, and warns on every call that it
   * does not validate the file).
   */
  const stockClient = (file: string, audience = AUDIENCE) =>
    new IdentityPoolClient({
      type: "external_account",
      audience,
      subject_token_type: JWT_TYPE,
      token_url: tokenUrl,
      credential_source: { file },
    });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "wif-e2e-gcp-"));
    iam = await startFakeIamCredentials();

    metadata = createServer((req, res) => {
      const path = new URL(req.url ?? "/", "http://x").pathname;
      adcRequests.push(path);
      if (req.headers["metadata-flavor"] !== "Google") return void res.writeHead(403).end();
      const flavor = { "metadata-flavor": "Google" };
      if (path === "/computeMetadata/v1/instance/service-accounts/default/token") {
        res.writeHead(200, { ...flavor, "content-type": "application/json" });
        return void res.end(
          JSON.stringify({ access_token: ADC_TOKEN, expires_in: 3599, token_type: "Bearer" }),
        );
      }
      if (path === "/computeMetadata/v1/project/project-id")
        return void res.writeHead(200, flavor).end("wif-broker-prod");
      if (path.startsWith("/computeMetadata/v1/instance")) return void res.writeHead(200, flavor).end("{}");
      res.writeHead(404, flavor).end();
    });
    const metadataPort = await listenOnLoopback(metadata);
    for (const k of [
      "GCE_METADATA_HOST",
      "GCE_METADATA_IP",
      "GOOGLE_APPLICATION_CREDENTIALS",
      "METADATA_SERVER_DETECTION",
    ]) {
      saved[k] = process.env[k];
      delete process.env[k];
    }
    process.env.GCE_METADATA_HOST = `127.0.0.1:${metadataPort}`;

    b = await startTestBroker({
      policies: POLICY,
      config: { targets: { gcp: { apiEndpoint: iam.host, port: iam.port, protocol: "http" } } },
    });

    proxy = createServer(
      withBody((req, res, body) => {
        sent.push({ headers: req.headers, form: new URLSearchParams(body) });
        void fetch(`${b.url}${req.url ?? "/"}`, {
          method: req.method ?? "POST",
          headers: { "content-type": req.headers["content-type"] ?? "" },
          body,
        }).then(async (upstream) => {
          const headers: Record<string, string> = {};
          for (const h of ["content-type", "cache-control", "retry-after", "x-request-id"]) {
            const v = upstream.headers.get(h);
            if (v !== null) headers[h] = v;
          }
          res.writeHead(upstream.status, headers).end(await upstream.text());
        });
      }),
    );
    tokenUrl = `http://127.0.0.1:${await listenOnLoopback(proxy)}/token`;
  });

  after(async () => {
    await b.close();
    await Promise.all([iam.close(), closeServer(metadata), closeServer(proxy)]);
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  beforeEach(() => {
    iam.reset();
    sent.length = 0;
  });

  it("getAccessToken() returns the IAM Credentials access token, unchanged stock configuration", async () => {
    const token = workloadToken();
    const client = stockClient(credentialFile(token));
    const { token: accessToken } = await client.getAccessToken();

    assert.equal(iam.issued.length, 1);
    assert.equal(accessToken, iam.issued[0]);

    // What the stock client actually sends (google-auth-library StsCredentials.exchangeToken).
    assert.equal(sent.length, 1);
    const [request] = sent;
    assert.ok(request);
    assert.match(request.headers["content-type"] ?? "", /^application\/x-www-form-urlencoded/);
    assert.deepEqual([...request.form.keys()].sort(), [
      "audience",
      "grant_type",
      "requested_token_type",
      "scope",
      "subject_token",
      "subject_token_type",
    ]);
    assert.equal(request.form.get("grant_type"), TOKEN_EXCHANGE);
    assert.equal(request.form.get("audience"), AUDIENCE);
    assert.equal(request.form.get("scope"), CLOUD_PLATFORM);
    assert.equal(request.form.get("requested_token_type"), TOKEN_TYPE.accessToken);
    assert.equal(request.form.get("subject_token_type"), JWT_TYPE);
    assert.equal(
      request.form.get("subject_token"),
      `${token}\n`,
      "the file's trailing newline is sent as is",
    );

    // The broker called generateAccessToken for the policy's service account with its own ADC.
    const [call] = iam.requests;
    assert.equal(call?.method, "generateAccessToken");
    assert.equal(call?.serviceAccount, SA);
    assert.deepEqual(call?.body, { scope: [CLOUD_PLATFORM], lifetime: "600s" });
    assert.equal(call?.authorization, `Bearer ${ADC_TOKEN}`, "the broker's ADC, from the metadata server");
    assert.ok(adcRequests.includes("/computeMetadata/v1/instance/service-accounts/default/token"));

    // The client then authorizes Google API calls with it.
    const headers = await client.getRequestHeaders();
    assert.equal(headers.get("authorization"), `Bearer ${accessToken}`);
  });

  it("a gcloud-generated credential file works after changing only its token_url (audience alias)", async () => {
    const token = workloadToken();
    // What `gcloud iam workload-identity-pools create-cred-config … --credential-source-file` writes.
    const gcloudFile = {
      universe_domain: "googleapis.com",
      type: "external_account",
      audience: GCLOUD_AUDIENCE,
      subject_token_type: JWT_TYPE,
      token_url: "https://sts.googleapis.com/v1/token",
      credential_source: { file: credentialFile(token) },
    };
    const client = new IdentityPoolClient({ ...gcloudFile, token_url: tokenUrl });
    const { token: accessToken } = await client.getAccessToken();
    assert.equal(accessToken, iam.issued[0]);
    assert.equal(sent[0]?.form.get("audience"), GCLOUD_AUDIENCE, "the client sent the gcloud audience");
    assert.equal(iam.requests[0]?.serviceAccount, SA, "the aliased target's service account");
    const allowed = b.audit.at(-1);
    assert.equal(allowed?.decision, "allow");
    assert.equal(allowed?.audience, GCLOUD_AUDIENCE);
    const metrics = await (await fetch(`${b.url}/metrics`)).text();
    assert.match(
      metrics,
      /result="allow",provider="github",policy="octo-gcp",target="gcp-deployer"\} 2\n/,
      "both allowed exchanges so far",
    );
    assert.doesNotMatch(metrics, /iam\.googleapis\.com/, "the metric names the target by its own audience");
  });

  it("an audience that is not an alias (another pool provider) is refused with invalid_target", async () => {
    const wrong = GCLOUD_AUDIENCE.replace("/providers/wif-broker", "/providers/other");
    const client = stockClient(credentialFile(workloadToken()), wrong);
    await assert.rejects(client.getAccessToken(), (e: unknown) => {
      assert.ok(e instanceof Error);
      assert.match(e.message, /invalid_target/);
      return true;
    });
    assert.equal(iam.requests.length, 0, "no IAM call for a refused audience");
  });

  it("the broker's response is what the client read: Bearer access token, expires_in, scope", async () => {
    const res = await b.exchange(workloadToken(), AUDIENCE, {
      scope: CLOUD_PLATFORM,
      requested_token_type: TOKEN_TYPE.accessToken,
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as Record<string, unknown>;
    assert.deepEqual(body, {
      access_token: iam.issued[0],
      issued_token_type: TOKEN_TYPE.accessToken,
      token_type: "Bearer",
      expires_in: body.expires_in,
      scope: CLOUD_PLATFORM,
    });
    assert.ok(
      Number.isInteger(body.expires_in) &&
        (body.expires_in as number) > 590 &&
        (body.expires_in as number) <= 600,
    );
  });

  it("IAM Credentials 429: 503 temporarily_unavailable with Retry-After, no upstream message", async () => {
    iam.fail(IAM_FAILURES.rateLimited, IAM_FAILURES.rateLimited, IAM_FAILURES.rateLimited);
    const res = await b.exchange(workloadToken(), AUDIENCE);
    assert.equal(res.status, 503);
    assert.ok(Number(res.headers.get("retry-after")) >= 1);
    const text = await res.text();
    assert.equal((JSON.parse(text) as { error: string }).error, "temporarily_unavailable");
    assert.doesNotMatch(text, /SECRET-UPSTREAM-DETAIL|Quota|RESOURCE_EXHAUSTED/);
    assert.equal(iam.requests.length, 3, "the broker's bounded retries");
  });

  it("a persistent 429: the stock client gets the broker's OAuth error, not an access token", async () => {
    iam.fail(...Array.from({ length: 30 }, () => IAM_FAILURES.rateLimited));
    const token = workloadToken();
    const client = stockClient(credentialFile(token));
    await assert.rejects(client.getAccessToken(), (e: unknown) => {
      assert.ok(e instanceof Error);
      assert.match(e.message, /temporarily_unavailable/);
      assert.ok(!e.message.includes(token));
      assert.doesNotMatch(e.message, /SECRET-UPSTREAM-DETAIL/);
      return true;
    });
    // gaxios retries a 503 on its own (3 retries in google-auth-library 11); each attempt costs the broker its
    // own bounded retries and no more.
    assert.ok(sent.length >= 1);
    assert.equal(iam.requests.length, sent.length * 3);
    assert.equal(iam.issued.length, 0);
  });
});
