import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import { OAuth2Client } from "google-auth-library";
import { jwtVerify } from "jose";
import { BrokerError } from "../../src/errors.ts";
import { createCredentialCache } from "../../src/mint/credential-cache.ts";
import { createGcpMinter, type GcpMinterOptions } from "../../src/mint/gcp.ts";
import { TOKEN_TYPE } from "../../src/mint/types.ts";
import type { GcpTargetSpec } from "../../src/policy/schema.ts";
import type { Grant } from "../../src/policy/types.ts";
import {
  type FakeIamCredentials,
  GOOGLE_ID_TOKEN_KEY,
  IAM_FAILURES,
  startFakeIamCredentials,
} from "../fakes/iam-credentials-server.ts";
import { captureOutput } from "../helpers/capture-output.ts";
import { FAST_RETRY, grantFor, manualClock, T0 } from "./mint-test-kit.ts";

const SA = "deployer@acme-prod.iam.gserviceaccount.com";
const CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform";
const BROKER_ADC_TOKEN = "ya29.broker-own-adc-token";

function gcpGrant(gcp: Partial<GcpTargetSpec> = {}, over: Partial<Grant> = {}): Grant {
  return grantFor(
    { kind: "gcp", audience: "gcp-deployer", gcp: { serviceAccount: SA, scopes: [CLOUD_PLATFORM], ...gcp } },
    { scopes: [CLOUD_PLATFORM], ...over },
  );
}

describe("gcp minter (real @google-cloud/iam-credentials REST client against a fake IAM Credentials API)", () => {
  const time = manualClock();
  const { clock, ctx } = time;
  let iam: FakeIamCredentials;
  const authClient = new OAuth2Client();
  authClient.setCredentials({ access_token: BROKER_ADC_TOKEN, expiry_date: Date.now() + 3_600_000 });
  const minter = (over: Partial<GcpMinterOptions> = {}) =>
    createGcpMinter({
      apiEndpoint: iam.host,
      port: iam.port,
      protocol: "http",
      authClient,
      clock,
      cache: null,
      retry: FAST_RETRY,
      ...over,
    });

  before(async () => {
    iam = await startFakeIamCredentials({ now: clock });
  });
  after(() => iam.close());
  beforeEach(() => {
    time.now = T0;
    iam.reset();
  });

  it("an idTokenAudience target calls generateIdToken: a Google-signed ID token, token_type N_A, expires_in from its exp", async () => {
    const grant = grantFor(
      {
        kind: "gcp",
        audience: "cloud-run-api",
        gcp: { serviceAccount: SA, idTokenAudience: "https://api-abc.a.run.app", includeEmail: true },
      },
      { scopes: [] },
    );
    const issued = await minter().mint(grant, ctx());
    const [req] = iam.requests;
    assert.equal(req?.method, "generateIdToken");
    assert.deepEqual(req?.body, { audience: "https://api-abc.a.run.app", includeEmail: true });
    assert.deepEqual(issued, {
      accessToken: iam.issued[0],
      issuedTokenType: TOKEN_TYPE.idToken,
      tokenType: "N_A",
      expiresIn: 3600,
    });
    const { payload } = await jwtVerify(issued.accessToken, GOOGLE_ID_TOKEN_KEY, {
      issuer: "https://accounts.google.com",
      audience: "https://api-abc.a.run.app",
      currentDate: new Date(T0),
    });
    assert.equal(payload.email, SA);
  });

  it("calls generateAccessToken for projects/-/serviceAccounts/<sa> with scope and lifetime", async () => {
    const issued = await minter().mint(gcpGrant({ lifetime: 600 }), ctx());

    assert.equal(iam.requests.length, 1);
    const [req] = iam.requests;
    assert.ok(req);
    assert.equal(req.method, "generateAccessToken");
    assert.equal(req.name, `projects/-/serviceAccounts/${SA}`);
    assert.equal(req.serviceAccount, SA);
    // proto3 JSON: Duration is a string of seconds with an "s" suffix.
    assert.deepEqual(req.body, { scope: [CLOUD_PLATFORM], lifetime: "600s" });
    assert.equal(
      req.authorization,
      `Bearer ${BROKER_ADC_TOKEN}`,
      "called with the broker's own Google identity",
    );

    assert.deepEqual(issued, {
      accessToken: iam.issued[0],
      issuedTokenType: TOKEN_TYPE.accessToken,
      tokenType: "Bearer",
      expiresIn: 600,
      scope: CLOUD_PLATFORM,
    });
  });

  describe("lifetime = min(grant ttl, gcp.lifetime, 3600)", () => {
    const cases: Array<{ ttl: number; lifetime?: number; want: number }> = [
      { ttl: 900, lifetime: 600, want: 600 },
      { ttl: 300, lifetime: 600, want: 300 },
      { ttl: 900, want: 900 },
      { ttl: 7200, want: 3600 },
      { ttl: 7200, lifetime: 5400, want: 3600 },
    ];
    for (const c of cases) {
      it(`ttl ${c.ttl}, lifetime ${c.lifetime ?? "unset"} → ${c.want}s`, async () => {
        const gcp = c.lifetime === undefined ? {} : { lifetime: c.lifetime };
        const issued = await minter().mint(gcpGrant(gcp, { ttl: c.ttl }), ctx());
        assert.equal(iam.requests[0]?.body.lifetime, `${c.want}s`);
        assert.equal(issued.expiresIn, c.want);
      });
    }
  });

  it("requests exactly the scopes the decision granted", async () => {
    const scopes = ["https://www.googleapis.com/auth/devstorage.read_only"];
    const gcp = { scopes: [CLOUD_PLATFORM, ...scopes] };
    const issued = await minter().mint(gcpGrant(gcp, { scopes }), ctx());
    assert.deepEqual(iam.requests[0]?.body.scope, scopes);
    assert.equal(issued.scope, scopes.join(" "));
  });

  it("passes delegates as resource names", async () => {
    await minter().mint(gcpGrant({ delegates: ["hop@acme-prod.iam.gserviceaccount.com"] }), ctx());
    assert.deepEqual(iam.requests[0]?.body.delegates, [
      "projects/-/serviceAccounts/hop@acme-prod.iam.gserviceaccount.com",
    ]);
  });

  describe("upstream failures", () => {
    it("429 RESOURCE_EXHAUSTED: bounded retries, then unavailable with Retry-After", async () => {
      iam.fail(IAM_FAILURES.rateLimited, IAM_FAILURES.rateLimited, IAM_FAILURES.rateLimited);
      await assert.rejects(minter().mint(gcpGrant(), ctx()), (e: unknown) => {
        assert.ok(e instanceof BrokerError);
        assert.equal(e.kind, "unavailable");
        assert.equal(e.reason, "upstream.gcp.unavailable");
        assert.equal(e.detail, "HTTP 429");
        assert.ok((e.retryAfter ?? 0) >= 1);
        assert.ok(!`${e.message} ${e.detail}`.includes("SECRET-UPSTREAM-DETAIL"));
        return true;
      });
      assert.equal(iam.requests.length, 3);
    });

    it("uses the upstream Retry-After when it sends one", async () => {
      iam.fail({ ...IAM_FAILURES.rateLimited, retryAfter: 9 });
      await assert.rejects(minter({ retry: { attempts: 1 } }).mint(gcpGrant(), ctx()), {
        kind: "unavailable",
        retryAfter: 9,
      });
    });

    it("503 then success: retried transparently", async () => {
      iam.fail(IAM_FAILURES.unavailable);
      const issued = await minter().mint(gcpGrant(), ctx());
      assert.equal(iam.requests.length, 2);
      assert.equal(issued.accessToken, iam.issued[0]);
    });

    for (const [name, failure] of [
      ["403 PERMISSION_DENIED", IAM_FAILURES.permissionDenied],
      ["404 NOT_FOUND", IAM_FAILURES.notFound],
    ] as const) {
      it(`${name}: invalid_target, not retried, no upstream message`, async () => {
        iam.fail(failure);
        await assert.rejects(minter().mint(gcpGrant(), ctx()), (e: unknown) => {
          assert.ok(e instanceof BrokerError);
          assert.equal(e.kind, "invalid_target");
          assert.equal(e.reason, "upstream.gcp.refused");
          assert.equal(e.detail, `HTTP ${failure.status}`);
          assert.ok(!`${e.message} ${e.detail}`.includes("SECRET-UPSTREAM-DETAIL"));
          assert.ok(!`${e.message} ${e.detail}`.includes(BROKER_ADC_TOKEN));
          assert.equal(e.cause, undefined, "no gaxios error (with its request headers) rides along");
          return true;
        });
        assert.equal(iam.requests.length, 1);
      });
    }

    it("a hanging upstream is abandoned at the request deadline", async () => {
      iam.fail(IAM_FAILURES.hang);
      const started = Date.now();
      await assert.rejects(minter().mint(gcpGrant(), ctx(AbortSignal.timeout(150))), {
        kind: "unavailable",
        reason: "upstream.gcp.unavailable",
        detail: "deadline",
      });
      assert.ok(Date.now() - started < 3_000);
      assert.equal(iam.requests.length, 1, "no retry after the deadline");
    });

    it("an unreachable endpoint is unavailable", async () => {
      const dead = await startFakeIamCredentials();
      const port = dead.port;
      await dead.close();
      await assert.rejects(minter({ port }).mint(gcpGrant(), ctx()), {
        kind: "unavailable",
        reason: "upstream.gcp.unavailable",
      });
    });
  });

  describe("credential cache", () => {
    it("returns the same token within half its lifetime and a fresh one after", async () => {
      const m = minter({ cache: createCredentialCache() });
      const grant = gcpGrant({}, { ttl: 3600 });
      const first = await m.mint(grant, ctx());
      time.now = T0 + 1_000_000;
      const second = await m.mint(grant, ctx());
      assert.equal(iam.requests.length, 1);
      assert.equal(second.accessToken, first.accessToken);
      assert.equal(second.expiresIn, 3600 - 1000);

      time.now = T0 + 1_800_000;
      const third = await m.mint(grant, ctx());
      assert.equal(iam.requests.length, 2);
      assert.notEqual(third.accessToken, first.accessToken);
    });

    it("keys on scopes and subject", async () => {
      const m = minter({ cache: createCredentialCache() });
      await m.mint(gcpGrant(), ctx());
      await m.mint(gcpGrant({}, { subject: "github:acme/other" }), ctx());
      await m.mint(gcpGrant({ scopes: [CLOUD_PLATFORM, "openid"] }, { scopes: ["openid"] }), ctx());
      assert.equal(iam.requests.length, 3);
    });
  });

  it("writes no access token to stdout/stderr while minting", async () => {
    const { result, output } = await captureOutput(async () => {
      const m = minter({ cache: createCredentialCache() });
      const a = await m.mint(gcpGrant(), ctx());
      iam.fail(IAM_FAILURES.permissionDenied);
      await m.mint(gcpGrant({}, { subject: "other" }), ctx()).catch(() => undefined);
      return a.accessToken;
    });
    assert.equal(result, iam.issued[0]);
    for (const s of [...iam.issued, BROKER_ADC_TOKEN])
      assert.ok(!output.includes(s), "a token reached stdout/stderr");
  });
});
