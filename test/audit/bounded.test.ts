/**
 * CONTRACT §2 parameter bounds and §7 bounded audit: no line over 16 KiB, every request-derived field cut and
 * marked, JWT-shaped values logged as their SHA-256 — for every field of the event, and through POST /token.
 */
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import {
  boundAuditEvent,
  boundedAuditSink,
  CUT_MARK,
  MAX_AUDIT_LINE_BYTES,
} from "../../src/audit/bounded.ts";
import type { AuditEvent } from "../../src/audit/event.ts";
import { createSignature } from "../../src/jose/jwa.ts";
import { memoryLogger } from "../../src/observability/log.ts";
import { sha256Hex } from "../../src/util/hash.ts";
import { GITHUB_POLICY, startTestBroker, type TestBroker, TOKEN_EXCHANGE } from "../helpers/broker.ts";
import { fixtureClaims } from "../helpers/fixtures.ts";

const key = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
/**
 * A real ES256 JWT with a payload of `size` bytes of claims; its header JSON may start with whitespace bytes
 * (JSON allows them; NBSP 0xA0 is whitespace to the latin1 check), so every spelling of a header's start is tried.
 */
function jwt(size = 40, lead: readonly number[] = []): string {
  const header = Buffer.concat([
    Buffer.from(lead),
    Buffer.from(JSON.stringify({ alg: "ES256", typ: "JWT" })),
  ]);
  const input = `${header.toString("base64url")}.${b64({ sub: "x".repeat(size) })}`;
  return `${input}.${createSignature("ES256", key, Buffer.from(input)).toString("base64url")}`;
}
const jwtArb = fc
  .tuple(
    fc.integer({ min: 1, max: 3000 }),
    fc.array(fc.constantFrom(0x20, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0xa0), { maxLength: 3 }),
  )
  .map(([size, lead]) => jwt(size, lead));

/** Every field an audit event can have, each with a realistic value. */
const SAMPLE: Required<AuditEvent> = {
  time: new Date(0).toISOString(),
  request_id: "01J0000000000000000000000A",
  decision: "deny",
  reason: "policy.no_match",
  error: "invalid_request",
  status: 400,
  grant_type: TOKEN_EXCHANGE,
  provider: "github",
  iss: "https://token.actions.githubusercontent.com",
  sub: "repo:o/r:ref:refs/heads/main",
  policy: "p",
  audience: "https://deploy.acme.internal",
  target_kind: "jwt",
  scopes: ["a"],
  lifetime: 900,
  jti: "j",
  source_ip: "192.0.2.1",
  latency_ms: 1.5,
  subject_token_sha256: sha256Hex("t"),
  trace: [
    {
      policy: "p",
      admitted: false,
      checks: [{ check: "match.ref", ok: false, message: "glob does not hold" }],
    },
  ],
  endpoint: "/revoke",
  token_sha256: sha256Hex("t"),
  revoker: "broker-jwt",
  active: false,
  caller_sub: "s",
  caller_client_id: "c",
  actor_iss: "https://oidc.prod-cluster.example.com",
  actor_sub: "system:serviceaccount:agents:a",
  actor_token_sha256: sha256Hex("a"),
  dpop_jkt: "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I",
  truncated: false,
  claims: { sub: "repo:o/r:ref:refs/heads/main", repository_owner_id: "65" },
  actor_claims: { sub: "system:serviceaccount:ci:deployer" },
  claims_omitted: "too_large",
  request: {
    audience: "https://deploy.acme.internal",
    scope: "a",
    source_ip: "192.0.2.1",
    time: new Date(0).toISOString(),
  },
  event: "lease.revoked",
  lease: {
    engine: "postgres",
    connection: "ledger",
    name: "wif_p_0123456789ab",
    expires_at: new Date(0).toISOString(),
    revoked_by: "expired",
  },
};
const FIELDS = Object.keys(SAMPLE) as Array<keyof AuditEvent>;

/** Hostile values for any field: huge strings, JWTs (alone, embedded, repeated), wide and deep structures. */
const hostile = fc.oneof(
  fc.integer({ min: 1025, max: 70_000 }).map((n) => "a".repeat(n)),
  fc.integer({ min: 1, max: 70_000 }).map((n) => "é😀".repeat(n)),
  jwtArb,
  jwtArb.map((t) => `x ${t} y`),
  jwtArb.map((t) => `${t}\n${t}`),
  jwtArb.map((t) => [t, t]),
  fc
    .integer({ min: 33, max: 5000 })
    .map((n) => Array.from({ length: n }, (_, i) => `scope-${i}-${"s".repeat(200)}`)),
  fc.integer({ min: 1, max: 200 }).map((depth) => {
    let v: unknown = "leaf";
    for (let i = 0; i < depth; i++) v = { [`k${i}${"x".repeat(500)}`]: v, more: "y".repeat(2000) };
    return v;
  }),
  fc
    .integer({ min: 65, max: 3000 })
    .map((n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`c${i}`, "v".repeat(300)]))),
);

const line = (e: AuditEvent) => `${JSON.stringify(e)}\n`;

describe("boundAuditEvent, for every field (property)", () => {
  it(`no line exceeds ${MAX_AUDIT_LINE_BYTES} bytes and no JWT survives, whatever any fields hold`, () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.constantFrom(...FIELDS), { minLength: 1, maxLength: 6 }),
        fc.array(hostile, { minLength: 6, maxLength: 6 }),
        jwtArb,
        (fields, values, token) => {
          const event = { ...SAMPLE } as Record<string, unknown>;
          fields.forEach((f, i) => {
            event[f] = values[i];
          });
          event[fields[0] as string] = `${token} and more`;
          // What a text sink receives: the line serialised once by the bounded sink, and the event it stands for.
          const written: string[] = [];
          boundedAuditSink({
            write: () => assert.fail("a line sink gets the serialised line"),
            writeLine: (bounded, l) => {
              assert.equal(l, JSON.stringify(bounded));
              written.push(`${l}\n`);
            },
          }).write(event as unknown as AuditEvent);
          const text = written[0] ?? "";
          assert.equal(text, line(boundAuditEvent(event as unknown as AuditEvent)));
          assert.ok(Buffer.byteLength(text) <= MAX_AUDIT_LINE_BYTES, `${Buffer.byteLength(text)} bytes`);
          assert.ok(!text.includes(token), "the JWT itself never reaches the line");
          assert.ok(!text.includes(token.split(".")[2] ?? "-"), "nor its signature");
        },
      ),
      { numRuns: 150 },
    );
  });

  it("each field alone: an over-long value is cut and marked, a JWT becomes its SHA-256", () => {
    for (const field of FIELDS) {
      const long = { ...SAMPLE, [field]: "z".repeat(5000) } as AuditEvent;
      const text = line(boundAuditEvent(long));
      assert.ok(Buffer.byteLength(text) <= MAX_AUDIT_LINE_BYTES, field);
      assert.ok(text.includes(CUT_MARK) && !text.includes("z".repeat(1100)), `${field} is cut and marked`);
      const token = jwt();
      const bounded = boundAuditEvent({ ...SAMPLE, [field]: token } as AuditEvent) as unknown as Record<
        string,
        unknown
      >;
      assert.equal(bounded[field], `sha256:${sha256Hex(token)}`, field);
    }
  });

  it("an event within the bounds is left exactly as it was", () => {
    assert.deepEqual(boundAuditEvent(SAMPLE), SAMPLE);
  });
});

describe("operational logs hash JWT-shaped values too", () => {
  it("in fields and messages, at every level", () => {
    const log = memoryLogger();
    const token = jwt();
    log.warn({ audience: token, nested: { v: [`x ${token}`] } }, `saw ${token}`);
    assert.equal(log.lines.length, 1);
    assert.ok(!log.lines[0]?.includes(token));
    assert.ok(log.lines[0]?.includes(sha256Hex(token)));
  });
});

describe("POST /token: parameter bounds and the audit line (CONTRACT §2, §7)", () => {
  let broker: TestBroker;
  before(async () => {
    broker = await startTestBroker({ policies: GITHUB_POLICY });
  });
  after(() => broker.close());

  const base = () => ({
    grant_type: TOKEN_EXCHANGE,
    subject_token: broker.idp.mint(fixtureClaims("github-actions-branch")),
    subject_token_type: "urn:ietf:params:oauth:token-type:jwt",
    audience: "https://deploy.acme.internal",
  });

  it("audience=<a JWT>: the audit line holds its SHA-256, never the token", async () => {
    const token = broker.idp.mint(fixtureClaims("github-actions-branch"));
    const res = await broker.post({ ...base(), audience: token });
    const body = await res.text();
    assert.equal(res.status, 400);
    assert.ok(!body.includes(token));
    const event = broker.audit.at(-1);
    assert.equal(event?.audience, `sha256:${sha256Hex(token)}`);
    assert.ok(!JSON.stringify(broker.audit).includes(token));
    assert.ok(!broker.logs.join("\n").includes(token));
  });

  it("every parameter over its bound is refused with 400; the audit line stays small (property)", async () => {
    const names = [
      "audience",
      "resource",
      "scope",
      "requested_token_type",
      "subject_token_type",
      "grant_type",
      "client_id",
      "x_unknown",
    ];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...names), fc.integer({ min: 2049, max: 60_000 }), async (name, n) => {
        const res = await broker.post({ ...base(), [name]: "a".repeat(n) });
        assert.equal(res.status, 400, name);
        const body = (await res.json()) as Record<string, unknown>;
        assert.equal(body.error, "invalid_request");
        const event = broker.audit.at(-1) as AuditEvent;
        assert.equal(event.reason, "request.parameter_too_long");
        assert.ok(Buffer.byteLength(line(event)) <= MAX_AUDIT_LINE_BYTES);
      }),
      { numRuns: 25 },
    );
    for (const name of ["audience", "scope"]) {
      const ok = await broker.post({
        ...base(),
        [name]: name === "scope" ? "deploy:read" : "https://deploy.acme.internal",
      });
      assert.equal(ok.status, 200, `${name} within bounds still works`);
    }
    const bigToken = await broker.post({ ...base(), subject_token: "a".repeat(16 * 1024 + 300) });
    assert.equal(
      bigToken.status,
      400,
      "an over-long token is refused (by the JWS parser, with the grant's error)",
    );
  });
});
