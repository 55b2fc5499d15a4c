import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  CONDITION_LIMITS,
  ConditionError,
  type ConditionInput,
  type ConditionRequest,
  compileCondition,
} from "../../src/policy/cel.ts";
import { fixture } from "../helpers/fixtures.ts";

const branch = fixture("github-actions-branch");
const tag = fixture("github-actions-tag-reusable-workflow");
const environment = fixture("github-actions-environment");
const k8s = fixture("kubernetes-projected");
const gitlab = fixture("gitlab-ci");
const gcp = fixture("gcp-metadata-full");

const request: ConditionRequest = {
  audience: "https://deploy.acme.internal",
  scopes: ["deploy:read"],
  sourceIp: "10.1.2.3",
};
// Friday 2026-03-27 10:00 UTC (11:00 in Berlin, CET).
const NOW = new Date("2026-03-27T10:00:00Z");

function run(source: string, input: Partial<ConditionInput> = {}) {
  return compileCondition(source).evaluate({ claims: branch, request, now: NOW, ...input });
}

describe("compileCondition: evaluation", () => {
  const cases: Array<{
    name: string;
    source: string;
    input?: Partial<ConditionInput>;
    ok: boolean;
    error?: RegExp;
  }> = [
    {
      name: "contract example on a tag",
      source: 'claims.run_attempt == "1" && claims.ref_type == "tag"',
      input: { claims: tag },
      ok: true,
    },
    {
      name: "contract example on a branch",
      source: 'claims.run_attempt == "1" && claims.ref_type == "tag"',
      ok: false,
    },
    // CONTRACT §5: values are never coerced; GitHub sends run_attempt as the string "1".
    { name: "string claim against an int literal", source: "claims.run_attempt == 1", ok: false },
    { name: "string claim against a double literal", source: "claims.run_attempt == 1.0", ok: false },
    { name: "explicit conversion is the author's choice", source: "int(claims.run_attempt) == 1", ok: true },
    {
      name: "JSON numbers compare as numbers",
      source: "claims.runner_id == 27",
      input: { claims: gitlab },
      ok: true,
    },
    {
      name: "JSON numbers never equal their string",
      source: 'claims.runner_id == "27"',
      input: { claims: gitlab },
      ok: false,
    },
    {
      name: "JSON booleans stay booleans",
      source: "claims.email_verified == true",
      input: { claims: gcp },
      ok: true,
    },
    {
      name: "a bool claim as the whole condition",
      source: "claims.email_verified",
      input: { claims: gcp },
      ok: true,
    },
    {
      name: "nested claim with a dotted name",
      source: 'claims["kubernetes.io"].namespace == "payments"',
      input: { claims: k8s },
      ok: true,
    },
    {
      name: "deeper nesting",
      source: 'claims["kubernetes.io"].serviceaccount.name == "api"',
      input: { claims: k8s },
      ok: true,
    },
    { name: "key presence with in", source: '"kubernetes.io" in claims', input: { claims: k8s }, ok: true },
    { name: "key absence with in", source: '"kubernetes.io" in claims', ok: false },
    {
      name: "has() on a present claim",
      source: "has(claims.environment)",
      input: { claims: environment },
      ok: true,
    },
    { name: "has() on an absent claim", source: "has(claims.environment)", ok: false },
    {
      name: "has() guards a missing claim",
      source: 'has(claims.environment) && claims.environment == "production"',
      ok: false,
    },
    {
      name: "list claim membership",
      source: '"https://broker.example.com" in claims.aud',
      input: { claims: k8s },
      ok: true,
    },
    {
      name: "exists over a list claim",
      source: 'claims.aud.exists(a, a.startsWith("https://"))',
      input: { claims: k8s },
      ok: true,
    },
    {
      name: "all over a list claim",
      source: 'claims.aud.all(a, a.endsWith(".org"))',
      input: { claims: k8s },
      ok: false,
    },
    {
      name: "exists_one",
      source: 'claims.aud.exists_one(a, a.endsWith(".com"))',
      input: { claims: k8s },
      ok: true,
    },
    {
      name: "filter and size",
      source: 'claims.aud.filter(a, a.contains("broker")).size() == 1',
      input: { claims: k8s },
      ok: true,
    },
    {
      name: "map",
      source: 'claims.aud.map(a, a + "/x") == ["https://broker.example.com/x"]',
      input: { claims: k8s },
      ok: true,
    },
    {
      name: "RE2 matches (partial, like CEL)",
      source: 'claims.job_workflow_ref.matches("@refs/tags/v[0-9]+$")',
      input: { claims: tag },
      ok: true,
    },
    { name: "request.audience", source: 'request.audience.startsWith("https://deploy.")', ok: true },
    { name: "request.scopes", source: '"deploy:read" in request.scopes', ok: true },
    {
      name: "null scopes bind as an empty list",
      source: "size(request.scopes) == 0",
      input: { request: { ...request, scopes: null } },
      ok: true,
    },
    { name: "request.sourceIp", source: 'request.sourceIp.startsWith("10.")', ok: true },
    { name: "has(request.sourceIp) when known", source: "has(request.sourceIp)", ok: true },
    // evaluate.ts passes "" for an unknown address.
    {
      name: "empty sourceIp is unknown",
      source: "has(request.sourceIp)",
      input: { request: { ...request, sourceIp: "" } },
      ok: false,
    },
    {
      name: "unknown sourceIp read is a non-match",
      source: 'request.sourceIp == "10.1.2.3"',
      input: { request: { audience: "a", scopes: null } },
      ok: false,
      error: /absent/,
    },
    { name: "now after a timestamp", source: 'now > timestamp("2026-01-01T00:00:00Z")', ok: true },
    { name: "now before a timestamp", source: 'now < timestamp("2026-01-01T00:00:00Z")', ok: false },
    // cel-spec: timestamp(int) is seconds since the epoch. The fixture's iat is 2026-11-18, after NOW.
    {
      name: "timestamp(int) from a claim",
      source: 'timestamp(int(claims.iat)) == timestamp("2026-11-18T11:06:40Z")',
      ok: true,
    },
    {
      name: "token age from claims",
      source: 'timestamp(int(claims.iat)) - now > duration("5000h")',
      ok: true,
    },
    {
      name: "timestamp(int) out of range",
      source: "timestamp(253402300800) > now",
      ok: false,
      error: /out of range/,
    },
    { name: "getDayOfWeek is 0 for Sunday", source: 'now.getDayOfWeek("Europe/Berlin") == 5', ok: true },
    {
      name: "getMonth is 0-based",
      source: "now.getMonth() == 2 && now.getDate() == 27 && now.getDayOfMonth() == 26",
      ok: true,
    },
    { name: "getDayOfYear is 0-based", source: "now.getDayOfYear() == 85", ok: true },
    { name: "getFullYear", source: "now.getFullYear() == 2026", ok: true },
    { name: "qualified type names", source: "type(now) == google.protobuf.Timestamp", ok: true },
    { name: "type()", source: "type(claims.run_attempt) == string && type(claims.iat) == double", ok: true },
    {
      name: "ternary",
      source: 'claims.ref_type == "tag" ? claims.run_attempt == "1" : false',
      input: { claims: tag },
      ok: true,
    },
    // Runtime errors are non-matches with a reason, never a throw.
    { name: "missing claim", source: 'claims.environment == "production"', ok: false, error: /absent/ },
    {
      name: "negated missing claim is still a non-match",
      source: '!(claims.environment == "production")',
      ok: false,
      error: /absent/,
    },
    { name: "field of a string", source: 'claims.ref.name == "x"', ok: false },
    { name: "wrong runtime type for an operator", source: "claims.ref > 1", ok: false, error: /wrong type/ },
    { name: "non-bool dyn result", source: "claims.ref", ok: false, error: /evaluated to string, not bool/ },
    { name: "bad conversion", source: "int(claims.ref) == 1", ok: false, error: /could not be evaluated/ },
    {
      name: "index past the end",
      source: 'claims.aud[3] == "x"',
      input: { claims: k8s },
      ok: false,
      error: /past the end/,
    },
    { name: "bad dynamic time zone", source: "now.getHours(claims.ref) == 1", ok: false, error: /time zone/ },
    {
      name: "an absent claim in a true || branch",
      source: 'claims.environment == "x" || claims.ref_type == "branch"',
      ok: true,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = run(c.source, c.input);
      assert.equal(r.ok, c.ok, `${c.source} → ${JSON.stringify(r)}`);
      if (c.error) assert.match(r.error ?? "", c.error);
      if (c.ok) assert.equal(r.error, undefined);
    });
  }

  it("never echoes a claim value in an error", () => {
    const claims = { secret: "hunter2-value", key: "hunter2-key", n: "hunter2-num" };
    for (const source of [
      "int(claims.n) == 1",
      "claims[claims.key] == 1",
      'claims.secret.matches(claims.secret + "(")',
      "timestamp(claims.secret) > now",
    ]) {
      const r = run(source, { claims });
      assert.equal(r.ok, false, source);
      assert.doesNotMatch(r.error ?? "", /hunter2/, source);
    }
  });

  it("rejects claims that are not JSON instead of throwing", () => {
    const r = run("true", { claims: { f: () => 1 } as unknown as Record<string, unknown> });
    assert.deepEqual(r, { ok: false, error: "claims are not a JSON object" });
    assert.equal(run("true", { now: new Date(Number.NaN) }).ok, false);
  });

  it("takes a claim named __proto__ and null-prototype objects as data", () => {
    const claims = JSON.parse('{"__proto__": {"admin": true}, "sub": "x"}') as Record<string, unknown>;
    assert.equal(run('"__proto__" in claims && claims["__proto__"].admin == true', { claims }).ok, true);
    const bare = Object.assign(Object.create(null) as Record<string, unknown>, { sub: "x" });
    assert.equal(run('claims.sub == "x"', { claims: bare }).ok, true);
  });

  it("does not let prototype keys look like claims", () => {
    assert.equal(run("has(claims.constructor)").ok, false);
    assert.equal(run('"toString" in claims').ok, false);
    assert.equal(run("claims.__proto__ == null").ok, false);
  });

  it("is reusable and keeps no state between evaluations", () => {
    const c = compileCondition('claims.ref_type == "tag"');
    assert.equal(c.evaluate({ claims: tag, request, now: NOW }).ok, true);
    assert.equal(c.evaluate({ claims: branch, request, now: NOW }).ok, false);
    assert.equal(c.evaluate({ claims: tag, request, now: NOW }).ok, true);
    assert.equal(c.source, 'claims.ref_type == "tag"');
  });
});

describe("compileCondition: time zones", () => {
  // Europe/Berlin springs forward on the last Sunday of March: 2026-03-29 01:00 UTC, 02:00 CET → 03:00 CEST.
  const cases: Array<{ at: string; hour: number }> = [
    { at: "2026-03-29T00:30:00Z", hour: 1 },
    { at: "2026-03-29T01:30:00Z", hour: 3 },
    { at: "2026-10-25T00:30:00Z", hour: 2 }, // falls back at 01:00 UTC: 02:30 CEST …
    { at: "2026-10-25T01:30:00Z", hour: 2 }, // … and 02:30 CET again
  ];
  for (const c of cases) {
    it(`getHours("Europe/Berlin") at ${c.at} is ${c.hour}`, () => {
      assert.equal(run(`now.getHours("Europe/Berlin") == ${c.hour}`, { now: new Date(c.at) }).ok, true);
    });
  }

  it("does not depend on the process time zone", () => {
    // 2026-03-08 02:30 does not exist in America/New_York (spring forward); UTC getters must not care.
    const saved = process.env.TZ;
    process.env.TZ = "America/New_York";
    try {
      const at = { now: new Date("2026-03-08T02:30:00Z") };
      assert.equal(run("now.getHours() == 2", at).ok, true);
      assert.equal(run('now.getHours("UTC") == 2 && now.getMinutes("UTC") == 30', at).ok, true);
      assert.equal(run('now.getHours("Asia/Kolkata") == 8', at).ok, true);
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
  });

  it("accepts fixed offsets", () => {
    assert.equal(run('now.getHours("+05:30") == 15 && now.getMinutes("+05:30") == 30').ok, true);
  });
});

describe("compileCondition: load-time errors", () => {
  const cases: Array<{ source: string; error: RegExp }> = [
    { source: "", error: /empty/ },
    { source: "claim.ref == 'x'", error: /line 1, column 1: undeclared reference to 'claim'/ },
    { source: "request.foo == 'x'", error: /request has no field 'foo'/ },
    { source: "request.audience == 1", error: /cannot compare string with int/ },
    { source: "request.scopes.exists(s, s == 1)", error: /cannot compare string with int/ },
    { source: "now == 1", error: /cannot compare google.protobuf.Timestamp with int/ },
    { source: "1 in request.audience", error: /'in' cannot look for int in string/ },
    { source: "request.audience[0] == 'h'", error: /cannot index string with int/ },
    { source: "request.audience.size() > 'x'", error: /no matching overload for _>_\(int, string\)/ },
    { source: "size(1) == 1", error: /no matching overload for size\(int\)/ },
    { source: "claims.ref.foo()", error: /unknown function 'foo'/ },
    { source: "cel.bind(x, 1, x == 1)", error: /undeclared reference to 'cel'/ },
    { source: "'a'", error: /must evaluate to bool, but this one is string/ },
    { source: "request.scopes", error: /must evaluate to bool, but this one is list\(string\)/ },
    { source: "claims.aud.all(a, a + 'x')", error: /a macro's predicate must be bool/ },
    { source: "claims.aud.filter(a, 1)", error: /a macro's predicate must be bool/ },
    { source: "claims.ref == 'a' && 1", error: /'&&' needs bool operands, not int/ },
    { source: "true ? 1 : 'a'", error: /branches of '\?:' have different types/ },
    { source: "now.getHours('Mars/Olympus') == 1", error: /unknown time zone "Mars\/Olympus"/ },
    { source: "timestamp('yesterday') < now", error: /invalid timestamp literal/ },
    { source: "now - duration('1 hour') < now", error: /invalid duration literal/ },
    { source: "claims.ref.matches('(')", error: /invalid regular expression/ },
    { source: "Foo{a: 1}.a == 1", error: /message construction/ },
    { source: "claims.ref == 'x' &&", error: /line 1, column 19: syntax error: unexpected '&'/ },
    { source: "claims.a.?b", error: /syntax error/ },
    { source: "[1, 2", error: /syntax error: unexpected end of input, expected ',' or ']'/ },
    { source: "claims.ref == 'x' &&\n  claims.ref ==", error: /line 2, column 14: syntax error/ },
    {
      source: "claims.ref == 'x' &&\n  clams.ref == 'y'",
      error: /line 2, column 3: undeclared reference to 'clams'/,
    },
  ];
  for (const c of cases) {
    it(c.source.replace(/\n/g, "⏎") || "(empty)", () => {
      assert.throws(
        () => compileCondition(c.source),
        (e: unknown) => {
          assert.ok(e instanceof ConditionError, String(e));
          assert.match(e.message, c.error);
          return true;
        },
      );
    });
  }

  it("reports the position as fields too", () => {
    try {
      compileCondition("claims.ref == 'x' &&\n  clams.ref == 'y'");
      assert.fail("should not compile");
    } catch (e) {
      assert.ok(e instanceof ConditionError);
      assert.equal(e.line, 2);
      assert.equal(e.column, 3);
    }
  });
});

describe("compileCondition: bounds", () => {
  it("rejects a source over 4 KiB", () => {
    const source = `claims.ref == "${"x".repeat(CONDITION_LIMITS.maxSourceBytes)}"`;
    assert.throws(() => compileCondition(source), /too long: \d+ bytes, at most 4096/);
  });

  it("counts bytes, not characters", () => {
    const source = `claims.ref == "${"é".repeat(2045)}"`; // 2061 characters, 4106 bytes
    assert.ok(source.length < 4096);
    assert.throws(() => compileCondition(source), /too long/);
  });

  it("rejects deep bracket nesting before parsing", () => {
    assert.throws(() => compileCondition(`${"(".repeat(33)}true${")".repeat(33)}`), /more than 32 levels/);
    assert.throws(() => compileCondition(`${"(".repeat(2000)}true`), /more than 32 levels/);
    assert.equal(
      compileCondition(`${"(".repeat(32)}true${")".repeat(32)}`).evaluate({ claims: {}, request, now: NOW })
        .ok,
      true,
    );
  });

  it("does not count brackets inside string literals", () => {
    const source = `claims.ref == "${"(".repeat(40)}" || claims.ref == '${"[".repeat(40)}'`;
    assert.equal(compileCondition(source).evaluate({ claims: branch, request, now: NOW }).ok, false);
  });

  it("rejects too many nodes", () => {
    const source = Array.from({ length: 150 }, (_, i) => `claims.c${i} == "v"`).join(" || ");
    assert.ok(new TextEncoder().encode(source).length <= 4096);
    assert.throws(() => compileCondition(source), /more than 512 expression nodes/);
  });

  const groups = (n: number) => Array.from({ length: n }, (_, i) => `team-${i}`);

  it("evaluates a realistic scan of a large list claim within budget", () => {
    const r = run('claims.groups.exists(g, g == "team-999")', { claims: { groups: groups(1000) } });
    assert.deepEqual(r, { ok: true });
  });

  const overBudget: Array<{ name: string; source: string }> = [
    {
      name: "nested comprehensions over a claim",
      source: "claims.groups.all(a, claims.groups.exists(b, a == b))",
    },
    { name: "membership inside a comprehension", source: "claims.groups.all(a, a in claims.groups)" },
    {
      name: "list equality inside a comprehension",
      source: "claims.groups.all(a, claims.groups == claims.groups)",
    },
    { name: "map() builds a list quadratically", source: 'claims.groups.map(g, g + "x").size() > 0' },
    {
      name: "literal ranges multiply",
      source: `${"[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29]"}.all(a, [0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29].all(b, [0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29].all(c, a + b + c >= 0)))`,
    },
    // A budget error must not be absorbed by CEL's error-tolerant ||.
    {
      name: "exhaustion inside || true",
      source: "claims.groups.all(a, claims.groups.exists(b, a == b)) || true",
    },
  ];
  for (const c of overBudget) {
    it(`stops and denies: ${c.name}`, () => {
      const r = run(c.source, { claims: { groups: groups(3000) } });
      assert.deepEqual(r, {
        ok: false,
        error: `exceeded its evaluation budget of ${CONDITION_LIMITS.budget} units`,
      });
    });
  }

  it("charges string scans by length", () => {
    const long = "ab".repeat(8000); // 16 KiB, the token size limit
    const r = run("claims.groups.all(g, claims.s.matches('^(a|b)*c$') || g != '')", {
      claims: { groups: groups(3000), s: long },
    });
    assert.equal(r.ok, false);
    assert.match(r.error ?? "", /budget/);
  });

  it("a fresh budget for every evaluation", () => {
    const c = compileCondition('claims.groups.exists(g, g == "team-999")');
    for (let i = 0; i < 5; i++) {
      assert.deepEqual(c.evaluate({ claims: { groups: groups(1000) }, request, now: NOW }), { ok: true });
    }
  });
});
