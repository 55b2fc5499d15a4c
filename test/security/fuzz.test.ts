/**
 * Property-based fuzzing of the three stages a hostile request crosses: the form parser, JWT intake and the policy
 * evaluator, plus POST /token as a whole. Every oracle here is written from CONTRACT §2/§5 and the RFCs, never
 * from the code under test. Runs are bounded so the file stays fast on a 2-core CI runner.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { stringify } from "yaml";
import { DemoIssuer } from "../../src/dev/demo-issuer.ts";
import { BrokerError } from "../../src/errors.ts";
import { GRANT } from "../../src/exchange/request.ts";
import { Form } from "../../src/http/form.ts";
import { parseGrantType, parseTokenRequest } from "../../src/http/token-request.ts";
import { DEFAULT_FETCH_LIMITS } from "../../src/identity/fetch.ts";
import { ProviderKeySource } from "../../src/identity/jwks.ts";
import { IdentityVerifier } from "../../src/identity/verifier.ts";
import { createSignature } from "../../src/jose/jwa.ts";
import { decide, explain } from "../../src/policy/evaluate.ts";
import { compileMatcher } from "../../src/policy/matcher.ts";
import { compilePolicyFiles } from "../../src/policy/parse.ts";
import type { PolicySet } from "../../src/policy/policy-set.ts";
import type { Decision, DecisionRequest } from "../../src/policy/types.ts";
import {
  BROKER_ISSUER,
  CLIENT_ASSERTION_TYPE,
  formBody,
  GITHUB_POLICY,
  JWT_TYPE,
  startTestBroker,
  type TestBroker,
} from "../helpers/broker.ts";
import { fixtureClaims } from "../helpers/fixtures.ts";

const ID_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token";
const ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token";
const LIMITS = { maxTtl: 3600, defaultTtl: 900 };

/** Fixed seeds would hide new counterexamples; a failure prints its seed and path for replay. */
const runs = (numRuns: number) => ({ numRuns });

const isBrokerError = (e: unknown): e is BrokerError => e instanceof BrokerError;

// ---------------------------------------------------------------------------------------------------------------
// (a) the form parser

type Params = Array<[string, string]>;

function parseForm(body: string) {
  const form = new Form(body);
  const grant = parseGrantType(form);
  return parseTokenRequest(form, grant, undefined);
}

const tokenText = fc.stringMatching(/^[A-Za-z0-9_.-]{1,40}$/);
const audienceText = fc.oneof(
  fc.constantFrom("https://deploy.acme.internal", "aws-prod", "https://a.example/x"),
  fc.stringMatching(/^[a-z][a-z0-9:/._-]{0,20}$/),
);
const scopeList = fc.array(fc.stringMatching(/^[\x21\x23-\x5b\x5d-\x7e]{1,8}$/), {
  minLength: 1,
  maxLength: 4,
});

/** A well-formed request of one of the three grants: its parameters and what they must parse to. */
const wellFormed = fc
  .record({
    grant: fc.constantFrom(GRANT.tokenExchange, GRANT.jwtBearer, GRANT.clientCredentials),
    token: tokenText,
    tokenType: fc.constantFrom(JWT_TYPE, ID_TOKEN_TYPE),
    audience: audienceText,
    scope: fc.option(scopeList, { nil: undefined }),
    requested: fc.option(fc.constantFrom(ACCESS_TOKEN_TYPE, JWT_TYPE), { nil: undefined }),
    clientId: fc.option(fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/), { nil: undefined }),
  })
  .map((r) => {
    const params: Params = [["grant_type", r.grant]];
    if (r.grant === GRANT.tokenExchange)
      params.push(["subject_token", r.token], ["subject_token_type", r.tokenType]);
    if (r.grant === GRANT.jwtBearer) params.push(["assertion", r.token]);
    if (r.grant === GRANT.clientCredentials) {
      params.push(["client_assertion_type", CLIENT_ASSERTION_TYPE], ["client_assertion", r.token]);
      if (r.clientId !== undefined) params.push(["client_id", r.clientId]);
    }
    params.push(["audience", r.audience]);
    if (r.scope) params.push(["scope", r.scope.join(" ")]);
    if (r.requested) params.push(["requested_token_type", r.requested]);
    // RFC 6749 §3.2: parameters that the grant reads and that are defined to occur once.
    const singleValued = ["grant_type", "audience", "scope", "requested_token_type"];
    if (r.grant === GRANT.tokenExchange) singleValued.push("subject_token", "subject_token_type");
    if (r.grant === GRANT.jwtBearer) singleValued.push("assertion");
    if (r.grant === GRANT.clientCredentials)
      singleValued.push("client_assertion_type", "client_assertion", "client_id");
    return { ...r, params, singleValued };
  });

const encode = (params: Params) =>
  params.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join("&");

const PARAM_NAMES = [
  "grant_type",
  "subject_token",
  "subject_token_type",
  "assertion",
  "client_assertion",
  "client_assertion_type",
  "client_id",
  "audience",
  "resource",
  "scope",
  "requested_token_type",
  "actor_token",
  "actor_token_type",
];
const PARAM_VALUES = [
  GRANT.tokenExchange,
  GRANT.jwtBearer,
  GRANT.clientCredentials,
  JWT_TYPE,
  ID_TOKEN_TYPE,
  CLIENT_ASSERTION_TYPE,
  "https://deploy.acme.internal",
  "deploy:read",
  "",
  " ",
  "\n",
];
/** Bodies that look like forms: known names and values, raw separators, stray escapes. */
const formish = fc
  .tuple(
    fc.array(
      fc.oneof(
        fc
          .tuple(
            fc.oneof(fc.constantFrom(...PARAM_NAMES), fc.string({ maxLength: 6 })),
            fc.oneof(
              fc.constantFrom(...PARAM_VALUES),
              fc.string({ maxLength: 20 }),
              fc.string({ unit: "binary", maxLength: 8 }),
            ),
          )
          .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`),
        fc.constantFrom("&", "=", "%", "%zz", "%E0%A4%A", "+", "&&", "==", "%00", "%FF"),
        fc.string({ maxLength: 10 }),
      ),
      { maxLength: 12 },
    ),
    fc.constantFrom("&", "&", ""),
  )
  .map(([parts, separator]) => parts.join(separator));

describe("fuzz (a): form parser and token request", () => {
  it("arbitrary bodies throw nothing but BrokerError", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: "binary", maxLength: 100 }), formish),
        (body) => {
          try {
            parseForm(body);
          } catch (e) {
            assert.ok(isBrokerError(e), `threw ${String(e)}`);
          }
        },
      ),
      runs(1500),
    );
  });

  it("a well-formed request parses to exactly its parameters", () => {
    fc.assert(
      fc.property(wellFormed, fc.boolean(), (r, shuffle) => {
        const params = shuffle ? [...r.params].reverse() : r.params;
        const req = parseForm(encode(params));
        assert.equal(req.grantType, r.grant);
        assert.equal(req.subjectToken, r.token);
        assert.equal(req.audience, r.audience);
        assert.deepEqual(req.scopes, r.scope ? [...new Set(r.scope)] : null);
        assert.equal(req.requestedTokenType, r.requested);
        assert.equal(req.clientId, r.grant === GRANT.clientCredentials ? r.clientId : undefined);
      }),
      runs(500),
    );
  });

  it("a repeated single-valued parameter is always invalid_request (RFC 6749 §3.2)", () => {
    fc.assert(
      fc.property(
        wellFormed,
        fc.nat(),
        fc.oneof(fc.constant(undefined), fc.string({ maxLength: 10 }), fc.constant("")),
        fc.nat(),
        (r, pick, value, at) => {
          const name = r.singleValued[pick % r.singleValued.length] as string;
          const present = r.params.find(([k]) => k === name);
          const extra: Params = present
            ? [[name, value ?? present[1]]]
            : [
                [name, value ?? "x"],
                [name, value ?? "y"],
              ];
          const params = [...r.params];
          params.splice(at % (params.length + 1), 0, ...extra);
          assert.throws(
            () => parseForm(encode(params)),
            (e: unknown) =>
              isBrokerError(e) && e.kind === "invalid_request" && e.reason === "request.repeated_parameter",
            `repeated ${name}`,
          );
        },
      ),
      runs(1000),
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------
// (b) JWT intake

const AUD = "https://broker.example.com";
const FIXED_MS = Math.floor(Date.now() / 1000) * 1000 + 500;
const NOW = Math.floor(FIXED_MS / 1000);
const SKEW = 60;
const KEY_BEARING = ["jku", "x5u", "jwk", "x5c"];

/**
 * CONTRACT §2 and RFC 7519 §4.1, written out independently: iss and aud exact strings, exp required, a finite
 * number and in the future, nbf/iat finite numbers with at most 60 s leeway, sub a non-empty string (the identity
 * the broker needs), jti a string when present.
 */
function claimsHold(p: Record<string, unknown>, iss: string): boolean {
  const finite = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);
  if (p.iss !== iss) return false;
  if (!finite(p.exp) || !(NOW < p.exp)) return false;
  if (p.nbf !== undefined && !(finite(p.nbf) && p.nbf <= NOW + SKEW)) return false;
  if (p.iat !== undefined && !(finite(p.iat) && p.iat <= NOW + SKEW)) return false;
  const aud = p.aud;
  const audOk =
    aud === AUD ||
    (Array.isArray(aud) && aud.length > 0 && aud.every((x) => typeof x === "string") && aud.includes(AUD));
  if (!audOk) return false;
  if (typeof p.sub !== "string" || p.sub === "") return false;
  if (p.jti !== undefined && typeof p.jti !== "string") return false;
  return true;
}

/** What a header must satisfy for a token signed RS256 by the provider's only key to be accepted. */
function headerMayPass(h: Record<string, unknown>, kid: string): boolean {
  return (
    h.alg === "RS256" &&
    (h.kid === undefined || h.kid === kid) &&
    !KEY_BEARING.some((k) => k in h) &&
    !("crit" in h) &&
    h.b64 !== false &&
    !("enc" in h)
  );
}

const absent = fc.constant(undefined);
const junk = fc.oneof(
  fc.string({ maxLength: 6 }),
  fc.boolean(),
  fc.constant(null),
  fc.constant([]),
  fc.constant({}),
  fc.jsonValue({ maxDepth: 2 }),
);
const time = (lo: number, hi: number) =>
  fc.oneof(
    { weight: 4, arbitrary: fc.integer({ min: lo, max: hi }) },
    // The boundaries of CONTRACT §2: exp = now, leeway 60 s exactly and one second beyond.
    { weight: 4, arbitrary: fc.constantFrom(NOW - 1, NOW, NOW + 1, NOW + 59, NOW + 60, NOW + 61) },
    fc.double({ min: lo, max: hi, noNaN: true }),
    fc.constantFrom(1e308, -1e308, 0, -0, Number.MAX_SAFE_INTEGER),
    fc.integer({ min: lo, max: hi }).map(String),
    fc.integer({ min: lo, max: hi }).map((n) => [n]),
    junk,
  );

/** Variants of each registered claim (valid ones included); `undefined` removes the claim. */
const variants = (iss: string) => ({
  iss: fc.oneof(
    fc.constant(iss),
    fc.constantFrom(`${iss}/`, iss.toUpperCase(), ` ${iss}`, "https://evil.example", `${iss}\u0000`),
    fc.constant([iss]),
    absent,
    junk,
  ),
  exp: fc.oneof({ weight: 3, arbitrary: time(NOW - 5, NOW + 600) }, absent),
  nbf: fc.oneof({ weight: 3, arbitrary: time(NOW - 120, NOW + 120) }, absent),
  iat: fc.oneof({ weight: 3, arbitrary: time(NOW - 120, NOW + 120) }, absent),
  aud: fc.oneof(
    fc.constant(AUD),
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        [AUD],
        ["x", AUD],
        [AUD, "x"],
        [AUD.toUpperCase()],
        [[AUD]],
        [1, AUD],
        [AUD, null],
        [],
        `${AUD}/`,
      ),
    },
    fc.array(fc.string({ maxLength: 4 }), { maxLength: 2 }),
    absent,
    junk,
  ),
  sub: fc.oneof(
    { weight: 2, arbitrary: fc.string({ minLength: 1, maxLength: 10 }) },
    fc.constant(""),
    absent,
    junk,
  ),
  jti: fc.oneof({ weight: 2, arbitrary: fc.uuid() }, absent, junk),
});

/**
 * Payloads near a valid one: usually one to three registered claims replaced by a variant (so a single broken rule
 * is what decides), sometimes all of them at once; random extra claims on top.
 */
const claimSet = (iss: string) => {
  const v = variants(iss);
  const names = Object.keys(v) as Array<keyof typeof v>;
  return fc
    .record({
      extra: fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
      picks: fc.oneof(
        { weight: 4, arbitrary: fc.uniqueArray(fc.constantFrom(...names), { minLength: 1, maxLength: 3 }) },
        fc.constant(names),
      ),
      values: fc.record(v),
    })
    .map(({ extra, picks, values }) => {
      const payload: Record<string, unknown> = {
        ...extra,
        iss,
        aud: AUD,
        sub: "repo:octo-org/octo-repo:ref:refs/heads/main",
        exp: NOW + 300,
        nbf: NOW,
        iat: NOW,
        jti: "j",
      };
      for (const k of picks) {
        if (values[k] === undefined) delete payload[k];
        else payload[k] = values[k];
      }
      return payload;
    });
};

const headerMutation = fc.record(
  {
    alg: fc.constantFrom("RS256", "RS256", "RS256", "RS384", "PS256", "ES256", "HS256", "none", "rs256", 7),
    kid: fc.constantFrom("right", "right", "absent", "wrong", 1),
    extra: fc.dictionary(
      fc.constantFrom("jku", "x5u", "jwk", "x5c", "crit", "b64", "enc", "zip", "x5t", "typ", "cty", "foo"),
      fc.jsonValue({ maxDepth: 1 }),
      { maxKeys: 2 },
    ),
  },
  { requiredKeys: ["alg", "kid"] },
);

describe("fuzz (b): JWT intake", () => {
  let idp: DemoIssuer;
  let verifier: IdentityVerifier;
  let kid: string;
  const sign = (header: Record<string, unknown>, payload: Record<string, unknown>) => {
    const input = `${Buffer.from(JSON.stringify(header)).toString("base64url")}.${Buffer.from(JSON.stringify(payload)).toString("base64url")}`;
    return `${input}.${createSignature("RS256", idp.currentKey.privateKey, Buffer.from(input)).toString("base64url")}`;
  };
  const validPayload = () => ({
    ...fixtureClaims("github-actions-branch"),
    iss: idp.url,
    aud: AUD,
    iat: NOW,
    nbf: NOW,
    exp: NOW + 300,
    jti: randomUUID(),
  });

  /** Verifies and classifies: accepted, or refused with a BrokerError; anything else fails the property. */
  async function outcome(token: string): Promise<"accepted" | "refused"> {
    try {
      await verifier.verify(token);
      return "accepted";
    } catch (e) {
      assert.ok(isBrokerError(e), `threw a non-BrokerError: ${String(e)}`);
      assert.equal(e.kind, "bad_subject_token", e.reason);
      return "refused";
    }
  }

  before(async () => {
    idp = await DemoIssuer.start();
    kid = idp.currentKey.kid;
    const clock = () => FIXED_MS;
    verifier = new IdentityVerifier({
      providers: [
        {
          name: "p",
          issuer: idp.url,
          audiences: [AUD],
          algorithms: ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"],
          keys: new ProviderKeySource({
            name: "p",
            issuer: idp.url,
            jwksUri: undefined,
            limits: { ...DEFAULT_FETCH_LIMITS, allowInsecureHttp: true },
            clock,
          }),
        },
      ],
      clock,
      clockSkew: SKEW,
    });
    assert.equal(await outcome(sign({ alg: "RS256", kid }, validPayload())), "accepted");
  });
  after(() => idp.close());

  it("arbitrary strings are refused with a BrokerError", async () => {
    const b64 = fc.stringMatching(/^[A-Za-z0-9_-]{0,40}$/);
    const jsonSegment = fc
      .jsonValue({ maxDepth: 3 })
      .map((v) => Buffer.from(JSON.stringify(v)).toString("base64url"));
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ maxLength: 100 }),
          fc.string({ unit: "binary", maxLength: 60 }),
          fc.array(fc.oneof(b64, jsonSegment), { minLength: 1, maxLength: 6 }).map((s) => s.join(".")),
          fc.tuple(jsonSegment, jsonSegment, b64).map((s) => s.join(".")),
        ),
        async (token) => {
          assert.equal(await outcome(token), "refused");
        },
      ),
      runs(1000),
    );
  });

  it("re-signed tokens with mutated claims are accepted exactly when the registered-claim rules hold", async () => {
    await fc.assert(
      fc.asyncProperty(claimSet(idp.url), async (claims) => {
        const payload = JSON.parse(JSON.stringify(claims)) as Record<string, unknown>;
        const expected = claimsHold(payload, idp.url) ? "accepted" : "refused";
        assert.equal(
          await outcome(sign({ alg: "RS256", kid, typ: "JWT" }, payload)),
          expected,
          JSON.stringify(payload),
        );
      }),
      runs(800),
    );
  });

  it("re-signed tokens with mutated headers are never accepted unless header and claim rules all hold", async () => {
    await fc.assert(
      fc.asyncProperty(headerMutation, fc.boolean(), async (m, validClaims) => {
        const header: Record<string, unknown> = { ...m.extra, alg: m.alg };
        if (m.kid === "right") header.kid = kid;
        if (m.kid === "wrong") header.kid = "not-a-kid";
        if (m.kid === 1) header.kid = 1;
        const payload = validClaims ? validPayload() : { ...validPayload(), exp: NOW };
        const parsedHeader = JSON.parse(JSON.stringify(header)) as Record<string, unknown>;
        const result = await outcome(sign(header, payload));
        if (result === "accepted") {
          assert.ok(headerMayPass(parsedHeader, kid), `accepted header ${JSON.stringify(parsedHeader)}`);
          assert.ok(validClaims);
        }
        // And the converse for headers without registered extension parameters: RS256, the right kid or none.
        const plain = Object.keys(parsedHeader).every((k) =>
          ["alg", "kid", "typ", "x5t", "cty", "foo"].includes(k),
        );
        if (validClaims && plain && headerMayPass(parsedHeader, kid))
          assert.equal(result, "accepted", JSON.stringify(parsedHeader));
      }),
      runs(400),
    );
  });

  it("random bit flips in a valid token never verify (only a respelling of the same signature bytes may)", async () => {
    const token = sign({ alg: "RS256", kid }, { ...validPayload(), exp: NOW + 3600 });
    const [h, p, s] = token.split(".") as [string, string, string];
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat({ max: token.length - 1 }), fc.nat({ max: 7 })), {
          minLength: 1,
          maxLength: 3,
        }),
        async (flips) => {
          const chars = [...token].map((c) => c.charCodeAt(0));
          for (const [i, bit] of flips) chars[i] = (chars[i] ?? 0) ^ (1 << bit);
          const mutated = String.fromCharCode(...chars);
          fc.pre(mutated !== token);
          const result = await outcome(mutated);
          const [mh, mp, ms, ...rest] = mutated.split(".");
          const sameBytes =
            rest.length === 0 &&
            mh === h &&
            mp === p &&
            ms !== undefined &&
            /^[A-Za-z0-9_-]+$/.test(ms) &&
            Buffer.from(ms, "base64url").equals(Buffer.from(s, "base64url"));
          // RFC 4648 §3.5: base64url decoders ignore the unused low bits of the last character; jose does too.
          if (!sameBytes) assert.equal(result, "refused", mutated);
        },
      ),
      runs(600),
    );
  });

  it("bit flips in the decoded header, payload or signature bytes never verify", async () => {
    const token = sign({ alg: "RS256", kid }, { ...validPayload(), exp: NOW + 3600 });
    const segments = token.split(".").map((x) => Buffer.from(x, "base64url"));
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: 2 }), fc.nat(), fc.nat({ max: 7 }), async (which, at, bit) => {
        const bytes = Buffer.from(segments[which] as Buffer);
        const i = at % bytes.length;
        bytes[i] = (bytes[i] ?? 0) ^ (1 << bit);
        const parts = segments.map((x, j) => (j === which ? bytes : x).toString("base64url"));
        assert.equal(await outcome(parts.join(".")), "refused");
      }),
      runs(600),
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------
// (c) the policy evaluator

/** The evaluator under fuzz, apart from platform lint and claim shapes: providers on test issuers. */
const FUZZ_PROVIDERS = [
  { name: "github", issuer: "https://github.issuer.test" },
  { name: "gitlab", issuer: "https://gitlab.issuer.test" },
];

function compile(text: string): PolicySet {
  const { set, problems } = compilePolicyFiles([{ path: "fuzz.yaml", text }], { providers: FUZZ_PROVIDERS });
  assert.deepEqual(problems, []);
  return set;
}

const POLICY_SET = `
apiVersion: wif-broker/v1
kind: TrustPolicy
metadata: { name: p-exact }
spec:
  provider: github
  match: { repository_owner_id: "65", repository_id: "74" }
  grant: { targets: [{ audience: t1, scopes: [a, b], defaultScopes: [a] }, { audience: t2 }] }
---
apiVersion: wif-broker/v1
kind: TrustPolicy
metadata: { name: p-glob }
spec:
  provider: github
  match: { ref: { glob: "refs/heads/**" }, repository_owner_id: "65" }
  grant: { targets: [{ audience: t1, scopes: [a] }] }
---
apiVersion: wif-broker/v1
kind: TrustPolicy
metadata: { name: p-regex }
spec:
  provider: [github, gitlab]
  match: { sub: { regex: "repo:[a-z]+/[a-z]+:.*" } }
  acknowledge: [{ rule: wildcard-only, reason: "fuzzed" }]
  condition: claims.run_attempt == "1"
  grant: { targets: [{ audience: t2 }, { audience: t3, scopes: [c] }] }
---
apiVersion: wif-broker/v1
kind: TrustPolicy
metadata: { name: p-in-not }
spec:
  provider: gitlab
  match: { event_name: { in: [push, tag] }, actor: { not: { in: [bot] } } }
  grant: { targets: [{ audience: t3 }] }
---
apiVersion: wif-broker/v1
kind: TrustPolicy
metadata: { name: p-pointer }
spec:
  provider: github
  match: { "/nested/k": v, "/arr/0": x }
  grant: { targets: [{ audience: t1 }] }
---
apiVersion: wif-broker/v1
kind: TrustPolicy
metadata: { name: p-access }
spec:
  provider: github
  match: { repository_id: "75" }
  access: { sourceCidrs: [10.0.0.0/8] }
  grant: { targets: [{ audience: t1 }] }
---
apiVersion: wif-broker/v1
kind: TrustPolicy
metadata: { name: p-template }
spec:
  provider: github
  match: { repository_id: "76" }
  grant: { subject: "gh:{{claims.repository}}", claims: { sha: "{{claims./nested/k}}" }, targets: [{ audience: t1 }] }
---
apiVersion: wif-broker/v1
kind: TrustPolicy
metadata: { name: p-literal }
spec:
  provider: github
  match: { run_number: 42, ref_protected: true }
  grant: { targets: [{ audience: t2 }] }
---
apiVersion: wif-broker/v1
kind: TrustPolicy
metadata: { name: p-condition }
spec:
  provider: github
  acknowledge: [{ rule: wildcard-only, reason: "fuzzed" }]
  condition: 'claims.exists(k, k == "x") && request.audience == "t3" && request.scopes.size() < 2'
  grant: { targets: [{ audience: t3, scopes: [a, c] }] }
`;

const DELETE = Symbol("delete");
const CLAIM_KEYS = [
  "repository_owner_id",
  "repository_id",
  "ref",
  "sub",
  "run_attempt",
  "event_name",
  "actor",
  "nested",
  "arr",
  "repository",
  "run_number",
  "ref_protected",
  "x",
  "constructor",
  "__proto__",
  "toString",
];
const CLAIM_VALUES: unknown[] = [
  "65",
  "74",
  "75",
  "76",
  "refs/heads/main",
  "refs/heads/a/b",
  "refs/tags/v1",
  "repo:ab/cd:x",
  "1",
  "push",
  "tag",
  "bot",
  "v",
  "x",
  42,
  true,
  "true",
  { k: "v" },
  ["x"],
];
/** For each policy, claims and a request it admits; the fuzz starts near one of them and perturbs it. */
const SEEDS: Array<{
  claims: Record<string, unknown>;
  provider: string;
  audience: string;
  sourceIp?: string;
}> = [
  {
    claims: { repository_owner_id: "65", repository_id: "74", ref: "refs/heads/main" },
    provider: "github",
    audience: "t2",
  },
  { claims: { repository_owner_id: "65", ref: "refs/heads/a/b" }, provider: "github", audience: "t1" },
  { claims: { sub: "repo:ab/cd:x", run_attempt: "1" }, provider: "gitlab", audience: "t2" },
  { claims: { event_name: "push", actor: "alice" }, provider: "gitlab", audience: "t3" },
  { claims: { nested: { k: "v" }, arr: ["x"] }, provider: "github", audience: "t1" },
  { claims: { repository_id: "75" }, provider: "github", audience: "t1", sourceIp: "10.1.2.3" },
  {
    claims: { repository_id: "76", repository: "o/r", nested: { k: "v" } },
    provider: "github",
    audience: "t1",
  },
  { claims: { run_number: 42, ref_protected: true }, provider: "github", audience: "t2" },
  { claims: { x: 1 }, provider: "github", audience: "t3" },
];
const NOW_MS = Date.UTC(2026, 0, 15, 12);
const scenarioArb = fc
  .record({
    seed: fc.constantFrom(...SEEDS),
    keepRequest: fc.boolean(),
    edits: fc.array(
      fc.tuple(
        fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...CLAIM_KEYS) }, fc.string({ maxLength: 5 })),
        fc.oneof(
          { weight: 4, arbitrary: fc.constantFrom(...CLAIM_VALUES) },
          fc.jsonValue({ maxDepth: 3 }),
          fc.constant(DELETE),
        ),
      ),
      { maxLength: 3 },
    ),
    provider: fc.constantFrom("github", "gitlab", "other"),
    subject: fc.string({ maxLength: 8 }),
    audience: fc.constantFrom("t1", "t2", "t3", "other"),
    scopes: fc.option(fc.uniqueArray(fc.constantFrom("a", "b", "c", "zz"), { maxLength: 3 }), { nil: null }),
    sourceIp: fc.constantFrom(undefined, "10.1.2.3", "192.168.1.1", "::1", "not-an-ip"),
    clientId: fc.constantFrom(undefined, undefined, undefined, "p-exact", "p-regex", "nobody"),
  })
  .map((r) => {
    const entries = new Map<string, unknown>(Object.entries(r.seed.claims));
    for (const [k, v] of r.edits) {
      if (v === DELETE) entries.delete(k);
      else entries.set(k, v);
    }
    // fromEntries defines own properties, so "__proto__" stays a claim, as it does after JSON.parse.
    const claims = Object.fromEntries(entries) as Record<string, unknown>;
    const req: DecisionRequest = r.keepRequest
      ? { audience: r.seed.audience, scopes: null, sourceIp: r.seed.sourceIp, now: NOW_MS }
      : { audience: r.audience, scopes: r.scopes, sourceIp: r.sourceIp, now: NOW_MS, clientId: r.clientId };
    return {
      who: { provider: r.keepRequest ? r.seed.provider : r.provider, subject: r.subject, claims },
      req,
    };
  });

/** decide (indexed, first match) and explain (exhaustive) must be the same decision. */
function assertSameDecision(d: Decision, e: Decision): void {
  assert.equal(d.allow, e.allow);
  if (d.allow && e.allow) assert.deepEqual(d.grant, e.grant);
  if (!d.allow && !e.allow) {
    assert.equal(d.code, e.code);
    assert.equal(d.reason, e.reason);
  }
}

/** Reference glob matcher over code points: `**` anything, `*` anything but '/', `?` one non-'/', else literal. */
function referenceGlob(glob: string, value: string): boolean {
  type Tok = "any" | "seg" | "one" | { lit: string };
  const g = Array.from(glob);
  const toks: Tok[] = [];
  for (let i = 0; i < g.length; ) {
    if (g[i] === "*") {
      let j = i;
      while (g[j] === "*") j++;
      toks.push(j - i >= 2 ? "any" : "seg");
      i = j;
    } else {
      toks.push(g[i] === "?" ? "one" : { lit: g[i] as string });
      i++;
    }
  }
  const v = Array.from(value);
  const memo = new Map<number, boolean>();
  const m = (t: number, i: number): boolean => {
    const key = t * (v.length + 1) + i;
    const hit = memo.get(key);
    if (hit !== undefined) return hit;
    let r: boolean;
    const tok = toks[t];
    if (tok === undefined) r = i === v.length;
    else if (tok === "any") {
      r = false;
      for (let k = i; k <= v.length && !r; k++) r = m(t + 1, k);
    } else if (tok === "seg") {
      r = false;
      for (let k = i; !r; k++) {
        r = m(t + 1, k);
        if (k >= v.length || v[k] === "/") break;
      }
    } else if (tok === "one") r = i < v.length && v[i] !== "/" && m(t + 1, i + 1);
    else r = v[i] === tok.lit && m(t + 1, i + 1);
    memo.set(key, r);
    return r;
  };
  return m(0, 0);
}

const GLOB_ALPHABET = [
  "a",
  "b",
  "/",
  ".",
  "\\",
  "[",
  "]",
  "(",
  ")",
  "+",
  "^",
  "$",
  "|",
  "{",
  "}",
  "é",
  "😀",
  "\n",
  "-",
];
const globTokens = fc.array(
  fc.oneof(fc.constantFrom(...GLOB_ALPHABET), fc.constantFrom("*", "**", "?", "***")),
  {
    minLength: 1,
    maxLength: 8,
  },
);
const valueChars = fc
  .array(fc.constantFrom(...GLOB_ALPHABET, "*", "?"), { maxLength: 10 })
  .map((c) => c.join(""));
/** A value built from the glob itself, so that matches are frequent. */
const instance = (tokens: string[]) =>
  fc
    .tuple(
      ...tokens.map((t) =>
        t === "?"
          ? fc.constantFrom("a", "/", "😀")
          : t.startsWith("**") || t === "***"
            ? fc.array(fc.constantFrom("a", "/", "é"), { maxLength: 3 }).map((c) => c.join(""))
            : t === "*"
              ? fc.array(fc.constantFrom("a", "/", "😀", "."), { maxLength: 3 }).map((c) => c.join(""))
              : fc.constant(t),
      ),
    )
    .map((parts) => parts.join(""));

describe("fuzz (c): policy evaluator", () => {
  const set = compile(POLICY_SET);

  it("random claims and requests never throw, and decide agrees with explain", () => {
    fc.assert(
      fc.property(scenarioArb, ({ who, req }) => {
        assertSameDecision(decide(set, who, req, LIMITS), explain(set, who, req, LIMITS));
      }),
      runs(1500),
    );
  });

  it("the fuzzed inputs reach every policy (the property is not vacuous)", () => {
    const admitted = new Set<string>();
    fc.assert(
      fc.property(scenarioArb, ({ who, req }) => {
        const d = decide(set, who, req, LIMITS);
        if (d.allow) admitted.add(d.grant.policy);
      }),
      runs(1500),
    );
    assert.equal(
      admitted.size,
      SEEDS.length,
      `policies that admitted something: ${[...admitted].join(", ")}`,
    );
  });

  it("exact string matchers admit exactly the claims whose values are === equal", () => {
    const key = fc.oneof(
      { weight: 4, arbitrary: fc.stringMatching(/^[a-z_][a-z0-9_.:-]{0,8}$/) },
      // "__proto__" is left out here: see the next test.
      fc.constantFrom("constructor", "toString", "kubernetes.io", "hasOwnProperty", "valueOf"),
    );
    const value = fc.oneof(
      fc.string({ maxLength: 6 }),
      fc.string({ unit: "binary", maxLength: 4 }),
      fc.constantFrom("74", "caf\u00e9", "Octo", "true", "", " "),
    );
    const matchArb = fc.uniqueArray(fc.tuple(key, value), {
      minLength: 1,
      maxLength: 4,
      selector: ([k]) => k,
    });
    const variant = (v: string) =>
      fc.oneof(
        { weight: 6, arbitrary: fc.constant<unknown>(v) },
        fc.constant<unknown>(undefined),
        fc.constant<unknown>(`${v}\u200d`),
        fc.constant<unknown>(v.normalize("NFD")),
        fc.constant<unknown>(v.toUpperCase()),
        fc.constant<unknown>([v]),
        fc.constant<unknown>(Number(v)),
        fc.constant<unknown>({ v }),
        fc.string({ maxLength: 4 }) as fc.Arbitrary<unknown>,
      );
    const scenario = fc
      .array(matchArb, { minLength: 1, maxLength: 3 })
      .chain((policies) =>
        fc.tuple(
          fc.constant(policies),
          fc.tuple(...policies.map((m) => fc.tuple(...m.map(([, v]) => variant(v))))),
          fc.dictionary(fc.string({ maxLength: 4 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 }),
        ),
      );
    fc.assert(
      fc.property(scenario, ([policies, variants, extra]) => {
        const text = policies
          .map((m, i) =>
            stringify({
              apiVersion: "wif-broker/v1",
              kind: "TrustPolicy",
              metadata: { name: `p${i}` },
              spec: {
                provider: "github",
                match: Object.fromEntries(m),
                grant: { targets: [{ audience: "t" }] },
              },
            }),
          )
          .join("---\n");
        const pset = compile(text);
        // Noise first, then each policy's variants; on a key shared by two policies the later one wins.
        const entries: Array<[string, unknown]> = Object.entries(extra);
        for (const [i, m] of policies.entries()) {
          for (const [j, [k]] of m.entries()) {
            const v = variants[i]?.[j];
            if (v !== undefined) entries.push([k, v]);
          }
        }
        const claims = Object.fromEntries(entries) as Record<string, unknown>;
        const admits = (m: Array<[string, string]>) =>
          m.every(([k, v]) => Object.hasOwn(claims, k) && claims[k] === v);
        const first = policies.findIndex(admits);
        const req = { audience: "t", scopes: null, sourceIp: undefined, now: 0 };
        const who = { provider: "github", subject: "s", claims };
        const d = decide(pset, who, req, LIMITS);
        assert.equal(d.allow, first >= 0, JSON.stringify({ policies, claims }));
        if (d.allow) assert.equal(d.grant.policy, `p${first}`);
        assertSameDecision(d, explain(pset, who, req, LIMITS));
      }),
      runs(300),
    );
  });

  it("a match key named __proto__ is refused at load or enforced, never silently dropped", () => {
    const text = POLICY_SET.split("---")[0]?.replace(
      'match: { repository_owner_id: "65", repository_id: "74" }',
      'match: { repository_owner_id: "65", repository_id: "74", __proto__: "x" }',
    );
    const { set: pset, problems } = compilePolicyFiles([{ path: "proto.yaml", text: text ?? "" }]);
    if (problems.length > 0) return;
    const claims = { repository_owner_id: "65", repository_id: "74" };
    const req = { audience: "t1", scopes: null, sourceIp: undefined, now: 0 };
    assert.equal(decide(pset, { provider: "github", subject: "s", claims }, req, LIMITS).allow, false);
  });

  it("glob matching agrees with an independent reference implementation", () => {
    fc.assert(
      fc.property(
        globTokens.chain((tokens) =>
          fc.tuple(fc.constant(tokens.join("")), fc.oneof(instance(tokens), valueChars)),
        ),
        ([glob, value]) => {
          const matcher = compileMatcher({ glob });
          assert.equal(matcher.test(value), referenceGlob(glob, value), JSON.stringify({ glob, value }));
        },
      ),
      runs(3000),
    );
  });

  it("the reference glob itself holds the documented cases", () => {
    const rows: Array<[string, string, boolean]> = [
      ["refs/heads/*", "refs/heads/main", true],
      ["refs/heads/*", "refs/heads/a/b", false],
      ["refs/heads/**", "refs/heads/a/b", true],
      ["refs/*/main", "refs/heads/main", true],
      ["a?c", "abc", true],
      ["a?c", "a/c", false],
      ["*", "", true],
      ["a.b", "axb", false],
    ];
    for (const [glob, value, want] of rows) {
      assert.equal(referenceGlob(glob, value), want, `${glob} ~ ${value}`);
      assert.equal(compileMatcher({ glob }).test(value), want, `${glob} ~ ${value}`);
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------
// HTTP

describe("fuzz: POST /token never answers 5xx", () => {
  let b: TestBroker;
  let tokens: string[] = [];
  before(async () => {
    b = await startTestBroker({ policies: GITHUB_POLICY });
    const mint = (over: Record<string, unknown>) => b.idp.mint(fixtureClaims("github-actions-branch", over));
    tokens = [
      mint({}),
      mint({ repository_id: "75" }),
      mint({ aud: "https://other.example" }),
      mint({ repository_id: 74 }),
      `${mint({})}x`,
      mint({ exp: Math.floor(Date.now() / 1000) - 10 }),
    ];
  });
  after(() => b.close());

  it("random form bodies", async () => {
    const value = fc.oneof(
      fc.constantFrom(
        ...PARAM_VALUES,
        "deploy:read deploy:write",
        "https://noscope.acme.internal",
        BROKER_ISSUER,
      ),
      fc.constantFrom(...tokens),
      fc.string({ maxLength: 30 }),
      fc.string({ unit: "binary", maxLength: 10 }),
    );
    const params = fc.array(
      fc.tuple(
        fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...PARAM_NAMES) }, fc.string({ maxLength: 6 })),
        value,
      ),
      {
        maxLength: 10,
      },
    );
    /** Mostly-valid exchanges, so that the fuzz also reaches verify, decide and mint. */
    const nearValid = fc
      .record({
        grant: fc.constantFrom(...Object.values(GRANT)),
        token: fc.constantFrom(...tokens),
        audience: fc.constantFrom(
          "https://deploy.acme.internal",
          "https://noscope.acme.internal",
          "elsewhere",
        ),
        extra: fc.array(fc.tuple(fc.constantFrom(...PARAM_NAMES), value), { maxLength: 2 }),
        tokenType: fc.constantFrom(JWT_TYPE, ID_TOKEN_TYPE, ACCESS_TOKEN_TYPE),
      })
      .map((r) => {
        const p: Params = [
          ["grant_type", r.grant],
          ["audience", r.audience],
        ];
        if (r.grant === GRANT.tokenExchange)
          p.push(["subject_token", r.token], ["subject_token_type", r.tokenType]);
        if (r.grant === GRANT.jwtBearer) p.push(["assertion", r.token]);
        if (r.grant === GRANT.clientCredentials)
          p.push(["client_assertion_type", CLIENT_ASSERTION_TYPE], ["client_assertion", r.token]);
        return encode([...p, ...r.extra]);
      });
    const body = fc.oneof(
      { weight: 4, arbitrary: nearValid },
      { weight: 3, arbitrary: params.map((p) => formBody(Object.fromEntries(p))) },
      { weight: 2, arbitrary: params.map((p) => encode(p)) },
      formish,
      fc.string({ maxLength: 200 }),
    );
    let ok = 0;
    await fc.assert(
      fc.asyncProperty(body, async (text) => {
        const res = await b.post({}, { body: text });
        const json = (await res.json()) as Record<string, unknown>;
        assert.ok(res.status < 500, `${res.status} for ${JSON.stringify(text)}: ${JSON.stringify(json)}`);
        if (res.status === 200) ok++;
        else {
          assert.equal(typeof json.error, "string");
          assert.ok(
            String(json.error_description).endsWith(`(request id ${res.headers.get("x-request-id")})`),
          );
        }
      }),
      runs(300),
    );
    assert.ok(ok > 0, "some fuzzed requests were granted");
  });
});
