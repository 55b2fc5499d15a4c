/**
 * CONTRACT §3, measured with boto3 (Debian's python3-boto3): a boto3 client whose profile runs
 * `wif-broker exchange --format credential-process` calls the process once per credential lifetime, not once per
 * API call. botocore refreshes credential_process credentials that expire within 15 minutes before every call,
 * which is why AWS credentials default to an hour and the broker's cache never hands out less than 20 minutes.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { shellQuote } from "../../src/cli/exchange.ts";
import { type FakeSts, startFakeSts } from "../fakes/sts-server.ts";
import { startTestBroker, type TestBroker } from "../helpers/broker.ts";
import { CLI } from "../helpers/cli.ts";
import { fixtureClaims } from "../helpers/fixtures.ts";

const CALLS = 20;
/** Each run of the 15-minute case is a CLI process start: a few calls show the pattern. */
const SHORT_CALLS = 4;
const POLICIES = `
apiVersion: wif-broker/v1
kind: TrustPolicy
metadata: { name: octo-aws }
spec:
  provider: github
  match: { repository_owner_id: "65", repository_id: "74", ref: { glob: "refs/heads/*" } }
  grant:
    targets:
      - audience: aws-default
        aws: { roleArn: "arn:aws:iam::123456789012:role/deploy" }
      - audience: aws-15m
        aws: { roleArn: "arn:aws:iam::123456789012:role/deploy", duration: 15m }
`;

/** `CALLS` GetCallerIdentity calls through one boto3 client; prints nothing on success. */
const BOTO3 = `
import os, boto3
client = boto3.Session(profile_name="brokered").client("sts", endpoint_url=os.environ["STS_URL"])
for _ in range(int(os.environ["CALLS"])):
    client.get_caller_identity()
`;

describe("boto3 with credential_process = wif-broker exchange (python3-boto3)", () => {
  let sts: FakeSts;
  let b: TestBroker;
  let dir: string;
  before(async () => {
    sts = await startFakeSts();
    b = await startTestBroker({
      policies: POLICIES,
      config: { targets: { aws: { region: "us-east-1", endpoint: sts.url } } },
    });
    dir = mkdtempSync(join(tmpdir(), "wif-boto3-"));
    writeFileSync(
      join(dir, "token.jwt"),
      `${b.idp.mint(fixtureClaims("github-actions-branch"), { ttl: 3600 })}\n`,
    );
  });
  after(async () => {
    await Promise.all([b.close(), sts.close()]);
  });

  /** Runs the boto3 loop against `audience`; returns how often the credential process ran and the keys used. */
  async function measure(audience: string, calls: number): Promise<{ runs: number; keys: Set<string> }> {
    const runsFile = join(dir, `${audience}.runs`);
    writeFileSync(runsFile, "");
    const wrapper = join(dir, `${audience}.sh`);
    const exchange = [process.execPath, CLI, "exchange", "--broker", b.url, "--audience", audience]
      .concat(["--token-file", join(dir, "token.jwt"), "--format", "credential-process"])
      .map(shellQuote)
      .join(" ");
    writeFileSync(wrapper, `#!/bin/sh\necho run >> ${shellQuote(runsFile)}\nexec ${exchange}\n`);
    chmodSync(wrapper, 0o755);
    const config = join(dir, `${audience}.config`);
    writeFileSync(config, `[profile brokered]\nregion = us-east-1\ncredential_process = ${wrapper}\n`);
    const before = sts.requests.length;
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn("python3", ["-c", BOTO3], {
        env: {
          PATH: process.env.PATH ?? "",
          HOME: dir,
          AWS_CONFIG_FILE: config,
          AWS_SHARED_CREDENTIALS_FILE: join(dir, "no-credentials"),
          AWS_EC2_METADATA_DISABLED: "true",
          STS_URL: sts.url,
          CALLS: String(calls),
        },
        stdio: ["ignore", "inherit", "inherit"],
      });
      child.on("error", reject);
      child.on("close", resolve);
    });
    assert.equal(code, 0, "python3 with boto3 ran (scripts/test.sh installs python3-boto3)");
    const signed = sts.requests.slice(before).filter((r) => r.action === "GetCallerIdentity");
    assert.equal(signed.length, calls);
    const keys = new Set(
      signed.map((c) => /Credential=([A-Z0-9]+)\//.exec(c.authorization ?? "")?.[1] ?? "none"),
    );
    return { runs: readFileSync(runsFile, "utf8").split("\n").filter(Boolean).length, keys };
  }

  it(`the default (one hour): one credential_process run for ${CALLS} API calls`, async () => {
    const { runs, keys } = await measure("aws-default", CALLS);
    assert.equal(runs, 1);
    assert.equal(keys.size, 1);
  });

  it("an explicit 15-minute duration: botocore runs the process before every call (why the default is 1 h)", async () => {
    const { runs } = await measure("aws-15m", SHORT_CALLS);
    assert.equal(
      runs,
      SHORT_CALLS + 1,
      "once to start, then once per call (each credential expires within 15 min)",
    );
  });
});
