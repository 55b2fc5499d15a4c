import assert from "node:assert/strict";
import { createHash, createHmac } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { TOKEN_TYPE } from "../../src/mint/types.ts";
import { type FakeSts, startFakeSts } from "../fakes/sts-server.ts";
import { startTestBroker, type TestBroker } from "../helpers/broker.ts";
import { fixtureClaims } from "../helpers/fixtures.ts";

/**
 * `aws.rdsAuthToken` (CONTRACT §8): the broker obtains the role's credentials from (loopback) STS as for any AWS
 * target, then answers an RDS IAM auth token signed with them. The test checks the token as RDS would: a SigV4
 * presigned `connect` URL for the user at host:port, service rds-db, whose signature verifies with the issued
 * secret key (recomputed here by hand from the SigV4 specification, not by the SDK that made it).
 */
const POLICY = `
apiVersion: wif-broker/v1
kind: TrustPolicy
metadata: { name: octo-rds }
spec:
  provider: github
  match: { repository_owner_id: "65", repository_id: "74" }
  grant:
    targets:
      - audience: ledger-rds
        aws:
          roleArn: "arn:aws:iam::123456789012:role/ledger-db"
          rdsAuthToken: { hostname: ledger.cluster-abc.eu-west-1.rds.amazonaws.com, port: 5432, username: ledger_app, region: eu-west-1 }
`;

const hmac = (key: Buffer | string, data: string) => createHmac("sha256", key).update(data).digest();
const sha256 = (data: string) => createHash("sha256").update(data).digest("hex");
const rfc3986 = (s: string) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** AWS SigV4 query-string signature (docs: "Authenticating Requests: Using Query Parameters"). */
function expectedSignature(token: string, secretAccessKey: string): string {
  const url = new URL(`https://${token}`);
  const params = [...url.searchParams].filter(([k]) => k !== "X-Amz-Signature");
  params.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const canonicalQuery = params.map(([k, v]) => `${rfc3986(k)}=${rfc3986(v)}`).join("&");
  const canonicalRequest = ["GET", "/", canonicalQuery, `host:${url.host}`, "", "host", sha256("")].join(
    "\n",
  );
  const amzDate = url.searchParams.get("X-Amz-Date") ?? "";
  const [, date, region, service] = (url.searchParams.get("X-Amz-Credential") ?? "").split("/");
  const scope = `${date}/${region}/${service}/aws4_request`;
  const toSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256(canonicalRequest)].join("\n");
  const key = hmac(
    hmac(hmac(hmac(`AWS4${secretAccessKey}`, date ?? ""), region ?? ""), service ?? ""),
    "aws4_request",
  );
  return hmac(key, toSign).toString("hex");
}

describe("aws.rdsAuthToken: an RDS IAM auth token signed with the role's credentials", () => {
  let sts: FakeSts;
  let b: TestBroker;
  before(async () => {
    sts = await startFakeSts();
    b = await startTestBroker({
      policies: POLICY,
      config: { targets: { aws: { region: "us-east-1", endpoint: sts.url } } },
    });
  });
  after(async () => {
    await b?.close();
    await sts?.close();
  });

  it("answers a presigned rds-db connect URL for the user at host:port that verifies with the issued secret", async () => {
    const res = await b.exchange(b.idp.mint(fixtureClaims("github-actions-branch")), "ledger-rds");
    assert.equal(res.status, 200, await res.clone().text());
    const body = (await res.json()) as Record<string, unknown>;
    assert.equal(body.issued_token_type, TOKEN_TYPE.rdsAuthToken);
    assert.equal(body.token_type, "N_A");
    assert.ok((body.expires_in as number) > 890 && (body.expires_in as number) <= 900);
    const token = body.access_token as string;
    assert.ok(token.startsWith("ledger.cluster-abc.eu-west-1.rds.amazonaws.com:5432/?"));
    const q = new URL(`https://${token}`).searchParams;
    const [issued] = sts.issued;
    assert.ok(issued);
    assert.equal(q.get("Action"), "connect");
    assert.equal(q.get("DBUser"), "ledger_app");
    assert.equal(q.get("X-Amz-Expires"), "900");
    assert.equal(q.get("X-Amz-Security-Token"), issued.sessionToken);
    assert.match(
      q.get("X-Amz-Credential") ?? "",
      new RegExp(`^${issued.accessKeyId}/\\d{8}/eu-west-1/rds-db/aws4_request$`),
    );
    assert.equal(q.get("X-Amz-Signature"), expectedSignature(token, issued.secretAccessKey));
    assert.notEqual(q.get("X-Amz-Signature"), expectedSignature(token, `${issued.secretAccessKey}x`));
    // The role credentials themselves are not handed out.
    assert.ok(!token.includes(issued.secretAccessKey));
  });
});
