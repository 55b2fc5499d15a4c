import assert from "node:assert/strict";
import { generateKeyPairSync, type KeyObject, sign } from "node:crypto";
import { after, before, beforeEach, describe, it } from "node:test";
import { decodeProtectedHeader, jwtVerify } from "jose";
import { BrokerError } from "../../src/errors.ts";
import {
  AWS_SOURCE_IDENTITY_CLAIM,
  AWS_TAGS_CLAIM,
  createAwsMinter,
  defaultSessionName,
  STS_AUDIENCE,
  stsDurationSeconds,
} from "../../src/mint/aws.ts";
import { createCredentialCache } from "../../src/mint/credential-cache.ts";
import type { TokenSigner } from "../../src/mint/signer.ts";
import { TOKEN_TYPE } from "../../src/mint/types.ts";
import type { Grant, RenderedAws } from "../../src/policy/types.ts";
import {
  type FakeSts,
  STS_FAILURES,
  startFakeSts,
  tagsOf,
  transitiveTagKeysOf,
} from "../fakes/sts-server.ts";
import { captureOutput } from "../helpers/capture-output.ts";
import { FAST_RETRY, grantFor, manualClock, T0 } from "./mint-test-kit.ts";

const ISSUER = "https://broker.example.com";
const ROLE = "arn:aws:iam::123456789012:role/deploy";

/** An ES256 TokenSigner over node:crypto, like the broker's key ring. */
function es256Signer(): { signer: TokenSigner; publicKey: KeyObject } {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
  return {
    publicKey,
    signer: {
      issuer: ISSUER,
      async sign(claims, typ) {
        const input = `${b64({ alg: "ES256", kid: "k1", typ })}.${b64(claims)}`;
        const sig = sign("sha256", Buffer.from(input), { key: privateKey, dsaEncoding: "ieee-p1363" });
        return `${input}.${sig.toString("base64url")}`;
      },
    },
  };
}

function awsGrant(aws: Partial<RenderedAws> = {}, over: Partial<Grant> = {}): Grant {
  return grantFor(
    {
      kind: "aws",
      audience: "aws-prod",
      aws: { roleArn: ROLE, mode: "webIdentity", sessionTags: {}, ...aws },
    },
    over,
  );
}

describe("aws minter (real @aws-sdk/client-sts against a fake STS)", () => {
  const time = manualClock();
  const { clock, ctx } = time;
  let sts: FakeSts;
  const { signer, publicKey } = es256Signer();
  let brokerCredentialCalls = 0;
  const brokerCredentials = async () => {
    brokerCredentialCalls++;
    return { accessKeyId: "AKIDBROKER", secretAccessKey: "broker-secret-key" };
  };
  const minter = (over: Partial<Parameters<typeof createAwsMinter>[0]> = {}) =>
    createAwsMinter({
      region: "us-east-1",
      endpoint: sts.url,
      signer,
      credentials: brokerCredentials,
      clock,
      cache: null,
      retry: FAST_RETRY,
      ...over,
    });

  before(async () => {
    sts = await startFakeSts({ now: clock });
  });
  after(() => sts.close());
  beforeEach(() => {
    time.now = T0;
    sts.reset();
    brokerCredentialCalls = 0;
  });

  describe("webIdentity mode", () => {
    it("calls AssumeRoleWithWebIdentity unsigned with a broker JWT carrying the session tags", async () => {
      const grant = awsGrant({
        sessionName: "gh-4711",
        sessionTags: { repo: "acme/app", team: "platform" },
        transitiveTagKeys: ["repo"],
        sourceIdentity: "octocat",
        sessionPolicy: '{"Version":"2012-10-17","Statement":[]}',
      });
      const issued = await minter().mint(grant, ctx());

      assert.equal(sts.requests.length, 1);
      const [req] = sts.requests;
      assert.ok(req);
      assert.equal(req.action, "AssumeRoleWithWebIdentity");
      assert.equal(req.params.Version, "2011-06-15");
      assert.equal(req.params.RoleArn, ROLE);
      assert.equal(req.params.RoleSessionName, "gh-4711");
      assert.equal(req.params.DurationSeconds, "900");
      assert.equal(req.params.Policy, '{"Version":"2012-10-17","Statement":[]}');
      // Tags and source identity travel inside the token, never as STS parameters of this call.
      assert.deepEqual(tagsOf(req.params), {});
      assert.equal(req.params.SourceIdentity, undefined);
      assert.equal(req.authorization, undefined, "AssumeRoleWithWebIdentity must not be SigV4-signed");
      assert.equal(brokerCredentialCalls, 0, "the broker's own AWS credentials are never resolved");

      const jwt = req.params.WebIdentityToken ?? "";
      assert.equal(decodeProtectedHeader(jwt).alg, "ES256");
      const { payload } = await jwtVerify(jwt, publicKey, {
        issuer: ISSUER,
        audience: STS_AUDIENCE,
        currentDate: new Date(T0),
      });
      assert.equal(payload.sub, "github:acme/app");
      assert.equal(payload.iat, T0 / 1000);
      assert.equal((payload.exp ?? 0) - (payload.iat ?? 0), 300, "a short-lived assertion");
      assert.equal(typeof payload.jti, "string");
      assert.deepEqual(payload[AWS_TAGS_CLAIM], {
        principal_tags: { repo: ["acme/app"], team: ["platform"] },
        transitive_tag_keys: ["repo"],
      });
      assert.equal(payload[AWS_SOURCE_IDENTITY_CLAIM], "octocat");

      const creds = sts.issued[0];
      assert.ok(creds);
      assert.equal(issued.issuedTokenType, TOKEN_TYPE.awsCredentials);
      assert.equal(issued.tokenType, "N_A");
      assert.equal(issued.expiresIn, 900);
      assert.equal(issued.jti, creds.accessKeyId);
      assert.deepEqual(JSON.parse(issued.accessToken), {
        Version: 1,
        AccessKeyId: creds.accessKeyId,
        SecretAccessKey: creds.secretAccessKey,
        SessionToken: creds.sessionToken,
        Expiration: new Date(T0 + 900_000).toISOString(),
      });
    });

    it("omits the tags claim when the target has no session tags", async () => {
      await minter().mint(awsGrant(), ctx());
      const jwt = sts.requests[0]?.params.WebIdentityToken ?? "";
      const { payload } = await jwtVerify(jwt, publicKey, { currentDate: new Date(T0) });
      assert.equal(AWS_TAGS_CLAIM in payload, false);
      assert.equal(AWS_SOURCE_IDENTITY_CLAIM in payload, false);
    });
  });

  describe("assumeRole mode", () => {
    it("calls AssumeRole SigV4-signed with the broker's identity, Tags, TransitiveTagKeys, SourceIdentity, Policy", async () => {
      const grant = awsGrant({
        mode: "assumeRole",
        sessionName: "gh-4711",
        sessionTags: { repo: "acme/app", "cost-center": "42" },
        transitiveTagKeys: ["repo"],
        sourceIdentity: "octocat",
        sessionPolicy: '{"Version":"2012-10-17","Statement":[]}',
      });
      const issued = await minter().mint(grant, ctx());

      const [req] = sts.requests;
      assert.ok(req);
      assert.equal(req.action, "AssumeRole");
      assert.match(
        req.authorization ?? "",
        /^AWS4-HMAC-SHA256 Credential=AKIDBROKER\/\d{8}\/us-east-1\/sts\/aws4_request,/,
      );
      assert.ok(brokerCredentialCalls >= 1);
      assert.equal(req.params.RoleArn, ROLE);
      assert.equal(req.params.RoleSessionName, "gh-4711");
      assert.equal(req.params.DurationSeconds, "900");
      assert.deepEqual(tagsOf(req.params), { repo: "acme/app", "cost-center": "42" });
      assert.deepEqual(transitiveTagKeysOf(req.params), ["repo"]);
      assert.equal(req.params.SourceIdentity, "octocat");
      assert.equal(req.params.Policy, '{"Version":"2012-10-17","Statement":[]}');
      assert.equal(req.params.WebIdentityToken, undefined);
      assert.equal(issued.jti, sts.issued[0]?.accessKeyId);
    });

    it("sends no Tags or SourceIdentity parameters when there are none", async () => {
      await minter().mint(awsGrant({ mode: "assumeRole" }), ctx());
      const params = sts.requests[0]?.params ?? {};
      assert.deepEqual(
        Object.keys(params).filter((k) => /^(Tags|TransitiveTagKeys|SourceIdentity|Policy)/.test(k)),
        [],
      );
    });
  });

  describe("DurationSeconds", () => {
    const cases: Array<{ name: string; ttl: number; duration?: number; want: number }> = [
      { name: "raised to the STS minimum of 900 s", ttl: 300, want: 900 },
      { name: "the grant ttl when within limits", ttl: 1800, want: 1800 },
      { name: "the target's shorter duration", ttl: 3600, duration: 1200, want: 1200 },
      { name: "never longer than the grant ttl", ttl: 1200, duration: 7200, want: 1200 },
      { name: "capped at the STS maximum of 43200 s", ttl: 86_400, want: 43_200 },
    ];
    for (const c of cases) {
      it(c.name, async () => {
        const aws = c.duration === undefined ? {} : { duration: c.duration };
        const issued = await minter().mint(awsGrant(aws, { ttl: c.ttl }), ctx());
        assert.equal(sts.requests[0]?.params.DurationSeconds, String(c.want));
        assert.equal(issued.expiresIn, c.want);
        assert.equal(stsDurationSeconds(c.ttl, c.duration), c.want);
      });
    }
  });

  describe("RoleSessionName default", () => {
    it("derives a valid name from policy and subject", async () => {
      await minter().mint(awsGrant(), ctx());
      assert.equal(sts.requests[0]?.params.RoleSessionName, "acme-deploy.github_acme_app");
    });

    it("shortens long subjects to 64 characters, keeping distinct subjects distinct", () => {
      const a = defaultSessionName("p", `repo:${"x".repeat(100)}:a`);
      const b = defaultSessionName("p", `repo:${"x".repeat(100)}:b`);
      assert.equal(a.length, 64);
      assert.match(a, /^[\w+=,.@-]{2,64}$/);
      assert.notEqual(a, b);
    });
  });

  describe("validation before any STS call", () => {
    const bad: Array<{ name: string; aws: Partial<RenderedAws>; reason: string; secret?: string }> = [
      { name: "session name too short", aws: { sessionName: "a" }, reason: "aws.session_name_invalid" },
      {
        name: "session name too long",
        aws: { sessionName: "s".repeat(65) },
        reason: "aws.session_name_invalid",
      },
      {
        name: "session name with a space",
        aws: { sessionName: "gh run SECRETVALUE" },
        reason: "aws.session_name_invalid",
        secret: "SECRETVALUE",
      },
      {
        name: "session name with a slash",
        aws: { sessionName: "acme/app" },
        reason: "aws.session_name_invalid",
      },
      {
        name: "reserved aws: tag key",
        aws: { sessionTags: { "aws:team": "x" } },
        reason: "aws.session_tags_invalid",
      },
      {
        name: "tag key over 128",
        aws: { sessionTags: { ["k".repeat(129)]: "v" } },
        reason: "aws.session_tags_invalid",
      },
      {
        name: "tag value over 256",
        aws: { sessionTags: { k: "v".repeat(257) } },
        reason: "aws.session_tags_invalid",
      },
      {
        name: "tag value with a forbidden character",
        aws: { sessionTags: { k: "SECRETVALUE#1" } },
        reason: "aws.session_tags_invalid",
        secret: "SECRETVALUE",
      },
      {
        name: "more than 50 tags",
        aws: { sessionTags: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, "v"])) },
        reason: "aws.session_tags_invalid",
      },
      {
        name: "tag keys equal ignoring case",
        aws: { sessionTags: { Team: "a", team: "b" } },
        reason: "aws.session_tags_invalid",
      },
      {
        name: "transitive key that is not a session tag",
        aws: { sessionTags: { repo: "a" }, transitiveTagKeys: ["team"] },
        reason: "aws.session_tags_invalid",
      },
      {
        name: "source identity too short",
        aws: { sourceIdentity: "x" },
        reason: "aws.source_identity_invalid",
      },
      {
        name: "source identity with aws: prefix",
        aws: { sourceIdentity: "aws:me" },
        reason: "aws.source_identity_invalid",
      },
      {
        name: "session policy not JSON",
        aws: { sessionPolicy: "allow all" },
        reason: "aws.session_policy_invalid",
      },
      {
        name: "session policy over 2048 characters",
        aws: { sessionPolicy: JSON.stringify({ Version: "2012-10-17", Sid: "x".repeat(2100) }) },
        reason: "aws.session_policy_invalid",
      },
    ];
    for (const mode of ["webIdentity", "assumeRole"] as const) {
      for (const c of bad) {
        it(`${mode}: ${c.name} → invalid_target`, async () => {
          await assert.rejects(minter().mint(awsGrant({ ...c.aws, mode }), ctx()), (e: unknown) => {
            assert.ok(e instanceof BrokerError);
            assert.equal(e.kind, "invalid_target");
            assert.equal(e.reason, c.reason);
            assert.ok(e.detail && e.detail.length > 0, "a clear reason");
            if (c.secret) assert.ok(!`${e.message} ${e.detail}`.includes(c.secret), "never echoes the value");
            return true;
          });
          assert.equal(sts.requests.length, 0, "STS is never called");
        });
      }
    }

    it("accepts the full AWS tag character set", async () => {
      const tags = { "team:name/x=y+z-@_.": "Ünïcode value 42 :/=+-@_." };
      await minter().mint(awsGrant({ mode: "assumeRole", sessionTags: tags }), ctx());
      assert.deepEqual(tagsOf(sts.requests[0]?.params ?? {}), tags);
    });
  });

  describe("upstream failures", () => {
    it("Throttling: bounded retries, then unavailable with Retry-After", async () => {
      sts.fail(STS_FAILURES.throttling, STS_FAILURES.throttling, STS_FAILURES.throttling);
      await assert.rejects(minter().mint(awsGrant(), ctx()), (e: unknown) => {
        assert.ok(e instanceof BrokerError);
        assert.equal(e.kind, "unavailable");
        assert.equal(e.reason, "upstream.aws.unavailable");
        assert.equal(e.detail, "Throttling");
        assert.ok((e.retryAfter ?? 0) >= 1);
        return true;
      });
      assert.equal(sts.requests.length, 3, "exactly the configured attempts");
    });

    it("a throttled attempt followed by success returns the credential", async () => {
      sts.fail(STS_FAILURES.throttling);
      const issued = await minter().mint(awsGrant({ mode: "assumeRole" }), ctx());
      assert.equal(sts.requests.length, 2);
      assert.equal(issued.jti, sts.issued[0]?.accessKeyId);
    });

    it("5xx: retried, then unavailable", async () => {
      sts.fail(STS_FAILURES.internal, STS_FAILURES.unavailable, STS_FAILURES.internal);
      await assert.rejects(minter().mint(awsGrant(), ctx()), {
        kind: "unavailable",
        reason: "upstream.aws.unavailable",
      });
      assert.equal(sts.requests.length, 3);
    });

    for (const [name, failure] of [
      ["AccessDenied", STS_FAILURES.accessDenied],
      ["InvalidIdentityToken", STS_FAILURES.invalidIdentityToken],
    ] as const) {
      it(`${name}: invalid_target, not retried, no upstream message`, async () => {
        sts.fail(failure);
        await assert.rejects(minter().mint(awsGrant(), ctx()), (e: unknown) => {
          assert.ok(e instanceof BrokerError);
          assert.equal(e.kind, "invalid_target");
          assert.equal(e.reason, "upstream.aws.refused");
          assert.match(e.detail ?? "", /^(AccessDenied|InvalidIdentityToken\w*)$/);
          assert.ok(!`${e.message} ${e.detail}`.includes("SECRET-UPSTREAM-DETAIL"));
          assert.ok(!`${e.message} ${e.detail}`.includes("not authorized"));
          assert.equal(e.cause, undefined, "no SDK error object rides along");
          return true;
        });
        assert.equal(sts.requests.length, 1);
      });
    }

    it("an unreachable STS endpoint is unavailable", async () => {
      const dead = await startFakeSts();
      const url = dead.url;
      await dead.close();
      await assert.rejects(minter({ endpoint: url }).mint(awsGrant(), ctx()), {
        kind: "unavailable",
        reason: "upstream.aws.unavailable",
      });
    });

    it("retries stop at the request deadline", async () => {
      sts.fail(...Array.from({ length: 20 }, () => STS_FAILURES.throttling));
      const started = Date.now();
      await assert.rejects(
        minter({ retry: { attempts: 20, baseDelayMs: 60_000, maxDelayMs: 60_000 } }).mint(
          awsGrant(),
          ctx(AbortSignal.timeout(200)),
        ),
        { kind: "unavailable", reason: "upstream.aws.unavailable" },
      );
      assert.ok(Date.now() - started < 5_000, "gave up at the deadline, not after the backoff");
      assert.ok(sts.requests.length < 20);
    });
  });

  describe("credential cache", () => {
    it("returns the same credential within half its lifetime and a fresh one after", async () => {
      const m = minter({ cache: createCredentialCache() });
      const grant = awsGrant({}, { ttl: 3600 });
      const first = await m.mint(grant, ctx());
      time.now = T0 + 1_799_000; // just under half of 3600 s
      const second = await m.mint(grant, ctx());
      assert.equal(sts.requests.length, 1);
      assert.equal(second.jti, first.jti);
      assert.equal(second.accessToken, first.accessToken);
      assert.equal(second.expiresIn, 3600 - 1799, "expires_in counts down");

      time.now = T0 + 1_800_000;
      const third = await m.mint(grant, ctx());
      assert.equal(sts.requests.length, 2);
      assert.notEqual(third.jti, first.jti);
    });

    it("never shares a credential across subjects, tags or modes", async () => {
      const m = minter({ cache: createCredentialCache() });
      const a = await m.mint(awsGrant({ sessionName: "same-name" }), ctx());
      const b = await m.mint(awsGrant({ sessionName: "same-name" }, { subject: "github:acme/other" }), ctx());
      const c = await m.mint(awsGrant({ sessionName: "same-name", sessionTags: { t: "1" } }), ctx());
      const d = await m.mint(awsGrant({ sessionName: "same-name", mode: "assumeRole" }), ctx());
      assert.equal(new Set([a.jti, b.jti, c.jti, d.jti]).size, 4);
      assert.equal(sts.requests.length, 4);
    });

    it("is disabled with cache: null", async () => {
      const m = minter({ cache: null });
      await m.mint(awsGrant(), ctx());
      await m.mint(awsGrant(), ctx());
      assert.equal(sts.requests.length, 2);
    });

    it("is bounded, evicting the least recently used entry", () => {
      const cache = createCredentialCache({ maxEntries: 2 });
      const token = { accessToken: "t", issuedTokenType: "x", tokenType: "N_A", expiresIn: 900 };
      cache.set("a", token, T0 + 900_000, T0);
      cache.set("b", token, T0 + 900_000, T0);
      assert.ok(cache.get("a", T0)); // a is now more recent than b
      cache.set("c", token, T0 + 900_000, T0);
      assert.equal(cache.size, 2);
      assert.equal(cache.get("b", T0), undefined);
      assert.ok(cache.get("a", T0));
      assert.ok(cache.get("c", T0));
    });
  });

  it("writes no credential or token to stdout/stderr while minting", async () => {
    const { result: results, output } = await captureOutput(async () => {
      const m = minter({ cache: createCredentialCache() });
      const a = await m.mint(awsGrant({ sessionTags: { repo: "acme/app" } }), ctx());
      const b = await m.mint(awsGrant({ mode: "assumeRole", sessionTags: { repo: "acme/app" } }), ctx());
      sts.fail(
        STS_FAILURES.accessDenied,
        STS_FAILURES.throttling,
        STS_FAILURES.throttling,
        STS_FAILURES.throttling,
      );
      await m.mint(awsGrant({ sessionName: "other-session" }), ctx()).catch(() => undefined);
      await m.mint(awsGrant({ sessionName: "third-session" }), ctx()).catch(() => undefined);
      return [a.accessToken, b.accessToken];
    });
    const secrets = [
      ...sts.issued.flatMap((c) => [c.secretAccessKey, c.sessionToken]),
      ...sts.requests.map((r) => r.params.WebIdentityToken).filter((t): t is string => t !== undefined),
      "broker-secret-key",
      ...results,
    ];
    assert.equal(secrets.length, 4 + 5 + 1 + 2);
    for (const s of secrets) assert.ok(!output.includes(s), "a secret reached stdout/stderr");
  });
});
