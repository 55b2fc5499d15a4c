import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, beforeEach, describe, it } from "node:test";
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import { fromProcess } from "@aws-sdk/credential-providers";
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import { AWS_TAGS_CLAIM, STS_AUDIENCE } from "../../src/mint/aws.ts";
import { TOKEN_TYPE } from "../../src/mint/types.ts";
import { type FakeSts, STS_FAILURES, startFakeSts } from "../fakes/sts-server.ts";
import { BROKER_ISSUER, startTestBroker, type TestBroker } from "../helpers/broker.ts";
import { CLI } from "../helpers/cli.ts";
import { fixtureClaims } from "../helpers/fixtures.ts";

/**
 * AWS end to end over HTTP: workload token → broker /token → AssumeRoleWithWebIdentity at a loopback STS with a
 * JWT the broker signed, then the AWS SDK's own `credential_process` provider running `wif-broker exchange`.
 */

const REGION = "us-east-1";
const ROLE = "arn:aws:iam::123456789012:role/deploy";
const AUDIENCE = "aws-prod-deploy";

const POLICY = `
apiVersion: wif-broker/v1
kind: TrustPolicy
metadata: { name: octo-aws }
spec:
  provider: github
  match: { repository_owner_id: "65", repository_id: "74", ref: { glob: "refs/heads/*" } }
  grant:
    subject: "github:{{claims.repository}}"
    targets:
      - audience: ${AUDIENCE}
        aws:
          roleArn: "${ROLE}"
          sessionName: "gh-{{claims.run_id}}"
          sessionTags: { repo: "{{claims.repository}}", ref: "{{claims.ref}}" }
`;

describe("AWS end to end (broker over HTTP → real STS client → loopback STS)", () => {
  let sts: FakeSts;
  let b: TestBroker;
  let dir: string;
  let runId = 7_000_000_000;
  /** A fresh run_id per token: a fresh STS session, so the broker's credential cache never answers instead. */
  const workloadToken = () =>
    b.idp.mint({ ...fixtureClaims("github-actions-branch"), run_id: String(++runId) });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "wif-e2e-aws-"));
    sts = await startFakeSts();
    b = await startTestBroker({
      policies: POLICY,
      config: { targets: { aws: { region: REGION, endpoint: sts.url } } },
    });
  });
  after(async () => {
    await b.close();
    await sts.close();
  });
  beforeEach(() => sts.reset());

  it("webIdentity: /token answers the credential_process document; STS got a broker-signed JWT for sts.amazonaws.com", async () => {
    const subjectToken = workloadToken();
    const res = await b.exchange(subjectToken, AUDIENCE);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("cache-control"), "no-store");
    const body = (await res.json()) as Record<string, unknown>;

    // CONTRACT §3: AWS answers through the same RFC 8693 response.
    assert.equal(body.issued_token_type, TOKEN_TYPE.awsCredentials);
    assert.equal(body.token_type, "N_A");
    assert.ok(
      Number.isInteger(body.expires_in) &&
        (body.expires_in as number) > 3590 &&
        (body.expires_in as number) <= 3600,
      "no ttl in the policy: AWS's default hour, so SDKs are not refreshing on every call",
    );
    const [issued] = sts.issued;
    assert.ok(issued);
    assert.deepEqual(JSON.parse(String(body.access_token)), {
      Version: 1,
      AccessKeyId: issued.accessKeyId,
      SecretAccessKey: issued.secretAccessKey,
      SessionToken: issued.sessionToken,
      Expiration: issued.expiration.toISOString(),
    });

    assert.equal(sts.requests.length, 1);
    const [call] = sts.requests;
    assert.ok(call);
    assert.equal(call.action, "AssumeRoleWithWebIdentity");
    assert.equal(call.authorization, undefined, "an unsigned call: the broker holds no AWS credentials");
    assert.equal(call.params.RoleArn, ROLE);
    assert.equal(call.params.RoleSessionName, `gh-${runId}`);
    assert.equal(call.params.DurationSeconds, "3600");

    // What AWS IAM does with an OIDC provider: discovery → jwks_uri → verify iss, aud and signature.
    const discovery = (await (await fetch(`${b.url}/.well-known/openid-configuration`)).json()) as Record<
      string,
      unknown
    >;
    assert.equal(discovery.issuer, BROKER_ISSUER);
    assert.equal(discovery.jwks_uri, `${BROKER_ISSUER}/jwks`);
    assert.ok((discovery.claims_supported as string[]).includes(AWS_TAGS_CLAIM));
    const webIdentityToken = call.params.WebIdentityToken ?? "";
    assert.notEqual(webIdentityToken, subjectToken, "the workload's own token never goes to AWS");
    const header = decodeProtectedHeader(webIdentityToken);
    assert.ok((discovery.id_token_signing_alg_values_supported as string[]).includes(String(header.alg)));
    const { payload } = await jwtVerify(webIdentityToken, createRemoteJWKSet(new URL(`${b.url}/jwks`)), {
      issuer: BROKER_ISSUER,
      audience: STS_AUDIENCE,
    });
    assert.equal(payload.sub, "github:octo-org/octo-repo");
    assert.deepEqual(payload[AWS_TAGS_CLAIM], {
      principal_tags: { repo: ["octo-org/octo-repo"], ref: ["refs/heads/main"] },
    });
    assert.ok((payload.exp ?? 0) - (payload.iat ?? 0) <= 300, "the STS JWT lives only through the call");
    assert.ok(!JSON.stringify(body).includes(webIdentityToken), "the STS JWT is not handed to the client");
  });

  describe("the AWS SDK's fromProcess provider running `wif-broker exchange --format credential-process`", () => {
    const saved: Record<string, string | undefined> = {};
    const PROFILE = "wif-deploy";
    let tokenFile: string;

    before(() => {
      tokenFile = join(dir, "token.jwt");
      const command = [
        `"${process.execPath}" "${CLI}" exchange`,
        `--broker ${b.url} --audience ${AUDIENCE}`,
        `--token-file "${tokenFile}" --format credential-process`,
      ].join(" ");
      const configFile = join(dir, "config");
      writeFileSync(
        configFile,
        `[profile ${PROFILE}]\ncredential_process = ${command}\nregion = ${REGION}\n`,
      );
      const credentialsFile = join(dir, "credentials");
      writeFileSync(credentialsFile, "");
      for (const k of ["AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_PROFILE"])
        saved[k] = process.env[k];
      process.env.AWS_CONFIG_FILE = configFile;
      process.env.AWS_SHARED_CREDENTIALS_FILE = credentialsFile;
      delete process.env.AWS_PROFILE;
    });
    after(() => {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    });

    it("resolves the STS credentials, and an SDK client signs with them", async () => {
      // Like a token file kubelet or a CI step writes: with a trailing newline.
      writeFileSync(tokenFile, `${workloadToken()}\n`);
      const credentials = await fromProcess({ profile: PROFILE })();
      const [issued] = sts.issued;
      assert.ok(issued);
      assert.equal(credentials.accessKeyId, issued.accessKeyId);
      assert.equal(credentials.secretAccessKey, issued.secretAccessKey);
      assert.equal(credentials.sessionToken, issued.sessionToken);
      assert.equal(credentials.expiration?.getTime(), issued.expiration.getTime());

      // A stock SDK client with the profile's credential_process: its request is SigV4-signed with those keys.
      const client = new STSClient({
        region: REGION,
        endpoint: sts.url,
        credentials: fromProcess({ profile: PROFILE }),
      });
      await client.send(new AssumeRoleCommand({ RoleArn: ROLE, RoleSessionName: "with-brokered-keys" }));
      client.destroy();
      const signed = sts.requests.at(-1);
      assert.equal(signed?.action, "AssumeRole");
      assert.match(
        signed?.authorization ?? "",
        new RegExp(`^AWS4-HMAC-SHA256 Credential=${issued.accessKeyId}/\\d{8}/${REGION}/sts/aws4_request`),
      );
      assert.equal(signed?.headers["x-amz-security-token"], issued.sessionToken);
      // The second credential_process run was answered from the broker's credential cache: one STS call only.
      assert.equal(sts.requests.filter((r) => r.action === "AssumeRoleWithWebIdentity").length, 1);
    });

    it("an STS outage reaches the SDK as the broker's error, never with the workload token", async () => {
      const token = workloadToken();
      writeFileSync(tokenFile, `${token}\n`);
      sts.fail(STS_FAILURES.throttling, STS_FAILURES.throttling, STS_FAILURES.throttling);
      await assert.rejects(fromProcess({ profile: PROFILE })(), (e: unknown) => {
        assert.ok(e instanceof Error);
        assert.equal(e.name, "CredentialsProviderError");
        assert.match(e.message, /the broker is unavailable \(HTTP 503\): temporarily_unavailable/);
        assert.ok(!e.message.includes(token));
        assert.ok(!e.message.includes("Rate exceeded"));
        return true;
      });
    });
  });

  describe("STS failures through /token", () => {
    it("Throttling: bounded retries, then 503 temporarily_unavailable with Retry-After, no upstream message", async () => {
      sts.fail(STS_FAILURES.throttling, STS_FAILURES.throttling, STS_FAILURES.throttling);
      const res = await b.exchange(workloadToken(), AUDIENCE);
      assert.equal(res.status, 503);
      const retryAfter = Number(res.headers.get("retry-after"));
      assert.ok(
        Number.isInteger(retryAfter) && retryAfter >= 1,
        `Retry-After: ${res.headers.get("retry-after")}`,
      );
      const text = await res.text();
      assert.equal((JSON.parse(text) as { error: string }).error, "temporarily_unavailable");
      assert.doesNotMatch(text, /Rate exceeded|Throttling|sts\.amazonaws|arn:aws/);
      assert.equal(sts.requests.length, 3);
    });

    it("AccessDenied: 400 invalid_target, not retried, no upstream message", async () => {
      sts.fail(STS_FAILURES.accessDenied);
      const res = await b.exchange(workloadToken(), AUDIENCE);
      assert.equal(res.status, 400);
      const text = await res.text();
      assert.equal((JSON.parse(text) as { error: string }).error, "invalid_target");
      assert.doesNotMatch(text, /SECRET-UPSTREAM-DETAIL|AccessDenied|arn:aws|not authorized/);
      assert.equal(sts.requests.length, 1);
      assert.equal(b.audit.at(-1)?.reason, "upstream.aws.refused");
    });
  });
});
