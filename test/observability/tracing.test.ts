import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { type FakeSts, startFakeSts } from "../fakes/sts-server.ts";
import { formBody, JWT_TYPE, startTestBroker, type TestBroker, TOKEN_EXCHANGE } from "../helpers/broker.ts";
import { fixtureClaims } from "../helpers/fixtures.ts";
import {
  type OtlpReceiver,
  type ReceivedSpan,
  SPAN_KIND,
  STATUS_CODE,
  startOtlpReceiver,
} from "../helpers/otlp-receiver.ts";

/**
 * CONTRACT §14 with the real OpenTelemetry SDK and OTLP exporter, configured by the standard OTEL_* environment,
 * against a loopback OTLP/HTTP receiver that decodes the wire format itself. Each session starts a broker and
 * closes it: closing is what flushes the SDK, so every assertion also proves the shutdown flush.
 */

const AUDIENCE = "aws-traced";
const POLICIES = `
apiVersion: wif-broker/v1
kind: TrustPolicy
metadata: { name: traced-aws }
spec:
  provider: github
  match: { repository_owner_id: "65", repository_id: "74", ref: { glob: "refs/heads/*" } }
  singleUse: true
  rateLimit: { requests: 1000, per: 1m }
  grant:
    subject: "github:{{claims.repository}}"
    targets:
      - audience: ${AUDIENCE}
        aws:
          roleArn: "arn:aws:iam::123456789012:role/deploy"
          sessionName: "gh-{{claims.run_id}}"
          sessionTags: { repo: "{{claims.repository}}" }
`;

const OTEL_NAMES = [
  "OTEL_EXPORTER_OTLP_ENDPOINT",
  "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
  "OTEL_EXPORTER_OTLP_PROTOCOL",
  "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
  "OTEL_SERVICE_NAME",
  "OTEL_TRACES_EXPORTER",
  "OTEL_SDK_DISABLED",
];

let receiver: OtlpReceiver;
let sts: FakeSts;
let runId = 9_100_000_000;

/**
 * A workload token the policy admits: a fresh run_id (a fresh STS session, no credential-cache answer) and a fresh
 * jti (the policy is single-use).
 */
const claimsFor = (extra: Record<string, unknown> = {}) => ({
  ...fixtureClaims("github-actions-branch"),
  run_id: String(++runId),
  jti: randomUUID(),
  ...extra,
});

/** Runs `run` against a broker started with the OTEL_* environment `env`; the spans it exported once closed. */
async function session(
  env: Record<string, string>,
  run: (b: TestBroker) => Promise<void>,
): Promise<ReceivedSpan[]> {
  const saved = OTEL_NAMES.map((n) => [n, process.env[n]] as const);
  for (const n of OTEL_NAMES) delete process.env[n];
  Object.assign(process.env, env);
  const already = receiver.spans.length;
  try {
    const b = await startTestBroker({
      policies: POLICIES,
      config: { targets: { aws: { region: "us-east-1", endpoint: sts.url } } },
    });
    try {
      await run(b);
    } finally {
      await b.close();
    }
  } finally {
    for (const [n, v] of saved) {
      if (v === undefined) delete process.env[n];
      else process.env[n] = v;
    }
  }
  return receiver.spans.slice(already);
}

const defaultEnv = () => ({
  OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
  OTEL_SERVICE_NAME: "wif-broker-under-test",
});

function postToken(b: TestBroker, token: string, headers: Record<string, string> = {}) {
  return fetch(`${b.url}/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body: formBody({
      grant_type: TOKEN_EXCHANGE,
      subject_token: token,
      subject_token_type: JWT_TYPE,
      audience: AUDIENCE,
    }),
  });
}

const hexId = (bytes: number) => randomBytes(bytes).toString("hex");

function only(spans: ReceivedSpan[], name: string): ReceivedSpan {
  const found = spans.filter((s) => s.name === name);
  assert.equal(found.length, 1, `one ${name} span in ${spans.map((s) => s.name).join(", ")}`);
  return found[0] as ReceivedSpan;
}

describe("tracing (real OpenTelemetry SDK → loopback OTLP/HTTP receiver)", () => {
  before(async () => {
    receiver = await startOtlpReceiver();
    sts = await startFakeSts();
  });
  after(async () => {
    await sts.close();
    await receiver.close();
  });

  it("an allowed exchange is one trace under the caller's traceparent: verify ⊃ jwks fetch, decide, store, mint ⊃ upstream", async () => {
    const traceId = hexId(16);
    const callerSpan = hexId(8);
    const spans = await session(defaultEnv(), async (b) => {
      const res = await postToken(b, b.idp.mint(claimsFor()), {
        traceparent: `00-${traceId}-${callerSpan}-01`,
        tracestate: "vendor=opaque",
      });
      assert.equal(res.status, 200, await res.text());
    });
    assert.deepEqual(receiver.contentTypes.at(-1), "application/x-protobuf", "the default is http/protobuf");
    assert.deepEqual(spans.map((s) => s.name).sort(), [
      "POST /token",
      "decide",
      "jwks fetch",
      "mint",
      "store rate_limit.hit",
      "store replay.consume",
      "store replay.seen",
      "upstream aws",
      "verify",
    ]);
    assert.ok(
      spans.every((s) => s.traceId === traceId),
      "every span is in the caller's trace",
    );

    const server = only(spans, "POST /token");
    assert.equal(server.parentSpanId, callerSpan, "W3C traceparent: the server span is the caller's child");
    assert.equal(server.traceState, "vendor=opaque");
    assert.equal(server.kind, SPAN_KIND.server);
    assert.notEqual(server.status.code, STATUS_CODE.error);
    assert.deepEqual(server.attributes, {
      "http.request.method": "POST",
      "http.route": "/token",
      "http.response.status_code": 200,
      "wif.result": "allow",
      "wif.provider": "github",
      "wif.policy": "traced-aws",
      "wif.target.kind": "aws",
    });
    assert.equal(server.resource["service.name"], "wif-broker-under-test", "OTEL_SERVICE_NAME");
    assert.equal(typeof server.resource["service.version"], "string");
    assert.equal(server.scope, "wif-broker");

    const verify = only(spans, "verify");
    assert.equal(verify.parentSpanId, server.spanId);
    assert.equal(verify.attributes["wif.provider"], "github");
    const jwks = only(spans, "jwks fetch");
    assert.equal(jwks.parentSpanId, verify.spanId, "the JWKS fetch is a child of verify");
    assert.equal(jwks.kind, SPAN_KIND.client);
    assert.equal(jwks.attributes["wif.provider"], "github");

    const decide = only(spans, "decide");
    assert.equal(decide.parentSpanId, server.spanId);
    assert.deepEqual(decide.attributes, {
      "wif.provider": "github",
      "wif.result": "allow",
      "wif.policy": "traced-aws",
    });
    for (const op of ["rate_limit.hit", "replay.seen", "replay.consume"]) {
      const store = only(spans, `store ${op}`);
      assert.equal(store.parentSpanId, server.spanId);
      assert.equal(store.attributes["wif.store.operation"], op);
    }
    const mint = only(spans, "mint");
    assert.equal(mint.parentSpanId, server.spanId);
    assert.deepEqual(mint.attributes, { "wif.target.kind": "aws", "wif.policy": "traced-aws" });
    const upstream = only(spans, "upstream aws");
    assert.equal(upstream.parentSpanId, mint.spanId, "the STS call is a child of mint");
    assert.equal(upstream.kind, SPAN_KIND.client);
    assert.deepEqual(upstream.attributes, { "wif.upstream": "aws", "wif.upstream.attempts": 1 });
    assert.ok(spans.every((s) => s.status.code !== STATUS_CODE.error));
  });

  it("a refused exchange: error status and the reason code on the failing stage and on the request span", async () => {
    const bodies: Record<string, unknown>[] = [];
    let audit: TestBroker["audit"] = [];
    const spans = await session(defaultEnv(), async (b) => {
      audit = b.audit;
      // 1. no policy admits this repository; 2. a signature that does not verify, with a traceparent that is not one.
      const unadmitted = b.idp.mint(claimsFor({ repository_owner_id: "66" }));
      const token = b.idp.mint(claimsFor());
      const tampered = `${token.slice(0, -4)}${token.endsWith("AAAA") ? "BBBB" : "AAAA"}`;
      for (const [t, headers] of [
        [unadmitted, {}],
        [tampered, { traceparent: "00-not-a-trace-context-01" }],
      ] as const) {
        const res = await postToken(b, t, headers);
        assert.equal(res.status, 400);
        bodies.push((await res.json()) as Record<string, unknown>);
      }
    });
    const servers = spans.filter((s) => s.name === "POST /token");
    assert.equal(servers.length, 2);
    assert.notEqual(servers[0]?.traceId, servers[1]?.traceId, "one trace per request");
    for (const [i, server] of servers.entries()) {
      assert.equal(server.parentSpanId, "", "no (valid) traceparent: a new trace");
      const reason = audit[i]?.reason;
      assert.ok(reason);
      assert.equal(server.status.code, STATUS_CODE.error);
      assert.equal(server.status.message, reason);
      assert.equal(server.attributes["wif.reason"], reason);
      assert.equal(server.attributes["wif.result"], bodies[i]?.error);
      assert.equal(server.attributes["http.response.status_code"], 400);
      assert.equal(server.attributes["wif.provider"], "github");
    }
    const [denied, unverified] = servers as [ReceivedSpan, ReceivedSpan];
    const decide = spans.find((s) => s.name === "decide" && s.traceId === denied.traceId);
    assert.deepEqual(decide?.attributes, {
      "wif.provider": "github",
      "wif.result": "deny",
      "wif.reason": audit[0]?.reason,
    });
    const verify = spans.find((s) => s.name === "verify" && s.traceId === unverified.traceId);
    assert.equal(verify?.status.code, STATUS_CODE.error);
    assert.equal(verify?.attributes["wif.reason"], "jwt.bad_signature");
    assert.equal(verify?.attributes["wif.error"], "bad_subject_token");
    assert.ok(!spans.some((s) => s.name === "mint"), "nothing was minted");
    assert.ok(!spans.some((s) => s.traceId === unverified.traceId && s.name === "decide"));
  });

  it("no attribute anywhere carries the token, a claim value or the issued credential (property)", async () => {
    const secrets = new Set<string>();
    const word = fc.stringMatching(/^[A-Za-z0-9]{6,16}$/);
    const bodiesBefore = receiver.bodies.length;
    const spans = await session(defaultEnv(), async (b) => {
      await fc.assert(
        fc.asyncProperty(
          fc.record({ repo: word, actor: word, workflow: word, branch: word, custom: word }),
          async (g) => {
            const claims = claimsFor({
              sub: `repo:octo-org/${g.repo}:ref:refs/heads/${g.branch}`,
              repository: `octo-org/${g.repo}`,
              ref: `refs/heads/${g.branch}`,
              actor: `x${g.actor}`,
              workflow: `w${g.workflow}`,
              sha: hexId(20),
              deployment_note: `n${g.custom}`,
            });
            const token = b.idp.mint(claims);
            const res = await postToken(b, token, { traceparent: `00-${hexId(16)}-${hexId(8)}-01` });
            const body = (await res.json()) as { access_token?: string };
            assert.equal(res.status, 200, JSON.stringify(body));
            secrets.add(token);
            for (const v of Object.values(claims)) if (typeof v === "string" && v !== "") secrets.add(v);
            const credential = body.access_token as string;
            secrets.add(credential);
            for (const v of Object.values(JSON.parse(credential) as Record<string, unknown>))
              if (typeof v === "string" && v.length > 8) secrets.add(v);
          },
        ),
        { numRuns: 8 },
      );
      // The broker's own assertion to STS (a JWT it signed) is a credential too.
      for (const r of sts.requests) if (r.params.WebIdentityToken) secrets.add(r.params.WebIdentityToken);
    });
    assert.equal(spans.filter((s) => s.name === "upstream aws").length, 8, "every exchange was traced");
    // Every string a span carries (numbers and booleans cannot carry a claim's text).
    const values = spans.flatMap((s) =>
      [
        s.name,
        s.traceState,
        s.status.message,
        ...[s.attributes, s.resource, ...s.eventAttributes].flatMap((a) => Object.values(a)),
      ].filter((v): v is string => typeof v === "string"),
    );
    for (const secret of secrets) {
      for (const value of values) {
        assert.ok(
          secret.length < 3 ? value !== secret : !value.includes(secret),
          `a span value (${value}) carries ${secret.slice(0, 12)}…`,
        );
      }
    }
    // And the raw wire bytes, whatever field they would be in: no JWT at all, no secret of any length worth finding.
    const wire = Buffer.concat(receiver.bodies.slice(bodiesBefore)).toString("latin1");
    assert.ok(!wire.includes("eyJ"), "no JWT on the wire");
    for (const secret of secrets)
      if (secret.length >= 8) assert.ok(!wire.includes(secret), secret.slice(0, 12));
  });

  it("http/json to a traces endpoint used as given; a caller that did not sample gets no spans exported", async () => {
    const sampled = hexId(16);
    const unsampled = hexId(16);
    const spans = await session(
      {
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.url}/v1/traces`,
        OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "http/json",
      },
      async (b) => {
        for (const [trace, flags] of [
          [sampled, "01"],
          [unsampled, "00"],
        ])
          assert.equal(
            (await postToken(b, b.idp.mint(claimsFor()), { traceparent: `00-${trace}-${hexId(8)}-${flags}` }))
              .status,
            200,
          );
      },
    );
    assert.equal(receiver.contentTypes.at(-1), "application/json");
    const server = only(spans, "POST /token");
    assert.equal(server.traceId, sampled);
    assert.equal(server.attributes["wif.result"], "allow");
    assert.equal(server.resource["service.name"], "wif-broker", "no OTEL_SERVICE_NAME: the broker's name");
    assert.ok(!spans.some((s) => s.traceId === unsampled), "parent-based sampling (the SDK default)");
  });

  it("a collector that is down costs no request: the exchange is answered, the failure logged (once)", async () => {
    const gone = await startOtlpReceiver();
    await gone.close();
    let logs: string[] = [];
    let token = "";
    await session({ OTEL_EXPORTER_OTLP_ENDPOINT: gone.url }, async (b) => {
      logs = b.logs;
      token = b.idp.mint(claimsFor());
      assert.equal((await postToken(b, token)).status, 200);
    });
    const warnings = logs.filter((l) => l.includes("tracing: span export problem"));
    assert.equal(warnings.length, 1, logs.join("\n"));
    assert.ok(!logs.some((l) => l.includes(token)));
  });

  it("a tracing setting the broker cannot honour refuses to start, in one line", async () => {
    for (const [env, message] of [
      [
        { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" },
        /grpc is not supported/,
      ],
      [{ OTEL_TRACES_EXPORTER: "zipkin" }, /zipkin is not supported/],
      [
        { OTEL_EXPORTER_OTLP_ENDPOINT: "collector:4318" },
        /OTEL_EXPORTER_OTLP_ENDPOINT is not an http\(s\) URL/,
      ],
    ] as const) {
      await assert.rejects(
        session(env, async () => assert.fail("started")),
        (e: Error) => e.name === "StartupError" && message.test(e.message) && !e.message.includes("\n"),
      );
    }
  });
});
