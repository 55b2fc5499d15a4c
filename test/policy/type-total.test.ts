/**
 * CONTRACT §5: policy semantics are total over JSON types. A missing or wrongly typed claim never satisfies a
 * condition, negated or not; integer literals beyond ±(2^53−1) are load errors; a literal or CEL comparison
 * whose type cannot equal the provider's declared claim type is a load error.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { decide } from "../../src/policy/evaluate.ts";
import { compileMatcher, literalTypes } from "../../src/policy/matcher.ts";
import { compilePolicyFiles } from "../../src/policy/parse.ts";
import { type ClaimType, jsonTypeOf, PLATFORMS, type Platform } from "../../src/policy/platforms.ts";
import type { MatcherInput } from "../../src/policy/schema.ts";
import { type FixtureName, fixture } from "../helpers/fixtures.ts";

// ---- generators ---------------------------------------------------------------------------------------------

const word = fc.string({ minLength: 1, maxLength: 6 });
const literal = fc.oneof(
  word,
  fc.integer({ min: -1000, max: 1000 }),
  fc.double({ min: -1e6, max: 1e6, noNaN: true }),
  fc.boolean(),
);
/** Every matcher combinator, nested: exact, glob, regex, in, not of any of them. */
const matcher: fc.Arbitrary<MatcherInput> = fc.letrec<{ m: MatcherInput }>((tie) => ({
  m: fc.oneof(
    { depthSize: "small" },
    literal,
    fc.constantFrom("a*", "**", "*", "refs/*/main").map((glob) => ({ glob })),
    fc.constantFrom(".*", "a.*", "[0-9]+", "x|y").map((regex) => ({ regex })),
    fc.array(literal, { minLength: 1, maxLength: 4 }).map((values) => ({ in: values })),
    tie("m").map((inner) => ({ not: inner })),
  ),
})).m;

/** A value of every JSON type, and "missing" (undefined). */
const jsonValue = fc.oneof(
  word,
  fc.constantFrom("a", "x", "refs/heads/main", "dependabot[bot]", "1", "true"),
  fc.integer({ min: -1000, max: 1000 }),
  fc.double({ min: -1e6, max: 1e6, noNaN: true }),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.oneof(word, fc.integer(), fc.boolean()), { maxLength: 3 }),
  fc.dictionary(word, fc.oneof(word, fc.integer()), { maxKeys: 3 }),
  fc.constant(undefined),
);

/** The literals of a matcher, so wrong-typed values can be built from the very values it names. */
function literalsOf(m: MatcherInput): unknown[] {
  if (typeof m !== "object") return [m];
  if ("in" in m) return m.in;
  if ("not" in m) return literalsOf(m.not);
  return "glob" in m ? [m.glob] : [m.regex];
}
/** The same value in other JSON clothes: what an issuer could send instead to side-step a deny-list. */
const disguises = (v: unknown): unknown[] => [[v], { v }, String(v), Number(v), v === "true", null];

// ---- the matcher --------------------------------------------------------------------------------------------

describe("matchers are total over JSON types (property)", () => {
  it("a value whose JSON type is none of the matcher's literal types — or a missing claim — never matches", () => {
    fc.assert(
      fc.property(matcher, jsonValue, (m, v) => {
        const t = jsonTypeOf(v);
        fc.pre(t === undefined || !(literalTypes(m) as ReadonlySet<string>).has(t));
        assert.equal(compileMatcher(m).test(v), false, JSON.stringify({ m, v }));
      }),
      { numRuns: 2000 },
    );
  });

  it("…not even a disguise of a value the matcher names (array, object, number, string of it)", () => {
    fc.assert(
      fc.property(matcher, (m) => {
        const compiled = compileMatcher(m);
        for (const lit of literalsOf(m)) {
          for (const v of disguises(lit)) {
            const t = jsonTypeOf(v);
            if (t !== undefined && (literalTypes(m) as ReadonlySet<string>).has(t)) continue;
            assert.equal(compiled.test(v), false, JSON.stringify({ m, v }));
          }
        }
      }),
    );
  });

  it("on a present value of the literal's type, not X is exactly the negation of X", () => {
    fc.assert(
      fc.property(matcher, jsonValue, (m, v) => {
        const t = jsonTypeOf(v);
        fc.pre(t !== undefined && (literalTypes(m) as ReadonlySet<string>).has(t));
        assert.equal(compileMatcher({ not: m }).test(v), !compileMatcher(m).test(v));
      }),
      { numRuns: 2000 },
    );
  });
});

// ---- through the decision ------------------------------------------------------------------------------------

const PROVIDERS = [{ name: "ci", issuer: "https://ci.issuer.test" }];
const LIMITS = { maxTtl: 3600, defaultTtl: 900 };

function policyText(match: Record<string, unknown>, extra = ""): string {
  return `apiVersion: wif-broker/v1
kind: TrustPolicy
metadata: { name: p }
spec:
  provider: ci
  match: ${JSON.stringify({ pin: "1", ...match })}
  ${extra}
  grant: { targets: [{ audience: t }] }
`;
}

function admits(text: string, claims: Record<string, unknown>): boolean {
  const { set, problems } = compilePolicyFiles([{ path: "p.yaml", text }], { providers: PROVIDERS });
  assert.deepEqual(problems, []);
  const d = decide(
    set,
    { provider: "ci", subject: "s", claims: { pin: "1", ...claims } },
    { audience: "t", scopes: null, sourceIp: undefined, now: 0 },
    LIMITS,
  );
  return d.allow;
}

describe("the deny-list of the issue cannot be side-stepped by a claim's JSON type", () => {
  it('actor: {not: {in: ["dependabot[bot]"]}} denies the array, the object, the number, null and a missing actor', () => {
    const text = policyText({ actor: { not: { in: ["dependabot[bot]"] } } });
    assert.equal(admits(text, { actor: "octocat" }), true);
    for (const actor of [
      ["dependabot[bot]"],
      { login: "dependabot[bot]" },
      49699333,
      null,
      true,
      undefined,
    ]) {
      assert.equal(admits(text, actor === undefined ? {} : { actor }), false, JSON.stringify(actor));
    }
  });

  it("through decide(), for every matcher and every JSON type (property)", () => {
    fc.assert(
      fc.property(matcher, jsonValue, (m, v) => {
        const t = jsonTypeOf(v);
        fc.pre(t === undefined || !(literalTypes(m) as ReadonlySet<string>).has(t));
        const text = policyText({ claim: m }, 'acknowledge: [{ rule: wildcard-only, reason: "test" }]');
        assert.equal(admits(text, v === undefined ? {} : { claim: v }), false);
      }),
      { numRuns: 300 },
    );
  });
});

// ---- integer literals ----------------------------------------------------------------------------------------

describe("integer literals beyond ±(2^53−1) are load errors (property)", () => {
  const unsafe = fc.oneof(
    fc.bigInt({ min: 2n ** 53n, max: 2n ** 70n }),
    fc.bigInt({ min: -(2n ** 70n), max: -(2n ** 53n) }),
  );
  const place = fc.constantFrom(
    (n: string) => policyText({}).replace('"pin":"1"', `"pin":"1","project_number":${n}`),
    (n: string) => policyText({}).replace('"pin":"1"', `"pin":"1","id":{"in":["1",${n}]}`),
    (n: string) => policyText({}).replace('"pin":"1"', `"pin":"1","id":{"not":${n}}`),
  );
  it("anywhere in a policy, with a message saying to quote the value", () => {
    fc.assert(
      fc.property(unsafe, place, (n, at) => {
        const { problems } = compilePolicyFiles([{ path: "p.yaml", text: at(n.toString()) }], {
          providers: PROVIDERS,
        });
        assert.equal(problems.length, 1, JSON.stringify(problems));
        assert.match(problems[0]?.message ?? "", new RegExp(`integer ${n} .*quote the value \\("${n}"\\)`));
      }),
    );
  });

  it("the safe range loads and compares exactly; a quoted big number matches only its own string", () => {
    fc.assert(
      fc.property(fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }), (n) => {
        assert.equal(admits(policyText({ project_number: n }), { project_number: n }), true);
      }),
    );
    const quoted = policyText({}).replace('"pin":"1"', '"pin":"1","project_number":"9007199254740993"');
    assert.equal(admits(quoted, { project_number: "9007199254740993" }), true);
    assert.equal(admits(quoted, { project_number: "9007199254740992" }), false);
    assert.equal(admits(quoted, { project_number: 9007199254740992 }), false);
  });
});

// ---- claim shapes --------------------------------------------------------------------------------------------

const ISSUERS: Record<Platform, string> = {
  github: "https://token.actions.githubusercontent.com",
  gitlab: "https://gitlab.com",
  google: "https://accounts.google.com",
  terraform: "https://app.terraform.io",
  kubernetes: "https://kubernetes.default.svc",
  azure: "https://login.microsoftonline.com/tid/v2.0",
};
const ACK =
  'acknowledge: [{ rule: multi-tenant-unpinned, reason: "t" }, { rule: wildcard-only, reason: "t" }]';
const SAMPLE: Record<ClaimType, string> = {
  string: '"x"',
  number: "7",
  boolean: "true",
  array: '["x"]',
  object: '{"a": "x"}',
};
const YAML_LITERAL: Record<string, unknown> = { string: "x", number: 7, boolean: true };

function compileFor(
  platform: Platform,
  match: Record<string, unknown>,
  condition?: string,
  claims?: Record<string, ClaimType>,
) {
  const text = `apiVersion: wif-broker/v1
kind: TrustPolicy
metadata: { name: p }
spec:
  provider: p
  match: ${JSON.stringify(match)}
  ${condition === undefined ? "" : `condition: ${JSON.stringify(condition)}`}
  ${ACK}
  grant: { targets: [{ audience: t }] }
`;
  return compilePolicyFiles([{ path: "p.yaml", text }], {
    providers: [{ name: "p", issuer: ISSUERS[platform], ...(claims ? { claims } : {}) }],
  }).problems;
}

const declared = (p: Platform) =>
  Object.entries(PLATFORMS[p].claims).filter(([k]) => !["exp", "iat", "nbf", "iss", "aud"].includes(k));
const FIXTURES: Array<[Platform, FixtureName]> = [
  ["github", "github-actions-branch"],
  ["gitlab", "gitlab-ci"],
  ["kubernetes", "kubernetes-projected"],
  ["google", "gcp-metadata-full"],
  ["azure", "azure-managed-identity-v1"],
];
const pointerValue = (claims: Record<string, unknown>, key: string): unknown =>
  (key.startsWith("/") ? key.slice(1).split("/") : [key]).reduce<unknown>(
    (o, k) => (o && typeof o === "object" ? (o as Record<string, unknown>)[k] : undefined),
    claims,
  );

describe("claim shapes per provider (CONTRACT §5 'Claim types')", () => {
  it("built-in shapes are the types of the platform fixtures", () => {
    for (const [platform, name] of FIXTURES) {
      const claims = fixture(name);
      for (const [key, type] of Object.entries(PLATFORMS[platform].claims)) {
        const v = pointerValue(claims, key);
        if (v !== undefined) assert.equal(jsonTypeOf(v), type, `${platform} ${key}`);
      }
    }
  });

  it("a match literal of another type than the declared claim is a load error; the declared type loads (property)", () => {
    const platforms = fc.constantFrom<Platform>("github", "gitlab", "kubernetes", "google", "azure");
    fc.assert(
      fc.property(
        platforms.chain((p) => fc.tuple(fc.constant(p), fc.constantFrom(...declared(p)))),
        fc.constantFrom("string", "number", "boolean"),
        fc.constantFrom("exact", "in", "not", "not-in"),
        ([platform, [key, type]], litType, form) => {
          const lit = YAML_LITERAL[litType];
          const m =
            form === "exact"
              ? lit
              : form === "in"
                ? { in: [lit] }
                : form === "not"
                  ? { not: lit }
                  : { not: { in: [lit] } };
          const problems = compileFor(platform, { [key]: m });
          if (litType === type) assert.deepEqual(problems, []);
          else {
            assert.equal(problems.length, 1, `${platform} ${key} ${litType}`);
            assert.match(problems[0]?.message ?? "", new RegExp(`is a ${type} in provider p's tokens`));
          }
        },
      ),
    );
  });

  it("a CEL comparison with another type is a load error; claims.run_attempt == 1 on GitHub is one (property)", () => {
    assert.match(
      compileFor("github", { repository_owner_id: "1" }, "claims.run_attempt == 1")[0]?.message ?? "",
      /cannot compare string with int/,
    );
    assert.deepEqual(compileFor("github", { repository_owner_id: "1" }, 'claims.run_attempt == "1"'), []);
    const platforms = fc.constantFrom<Platform>("github", "gitlab", "kubernetes", "google", "azure");
    fc.assert(
      fc.property(
        platforms.chain((p) => fc.tuple(fc.constant(p), fc.constantFrom(...declared(p)))),
        fc.constantFrom<ClaimType>("string", "number", "boolean", "array", "object"),
        fc.boolean(),
        ([platform, [key, type]], litType, bracket) => {
          const path = key.startsWith("/")
            ? key
                .slice(1)
                .split("/")
                .map((s) => `[${JSON.stringify(s)}]`)
                .join("")
            : bracket
              ? `[${JSON.stringify(key)}]`
              : `.${key}`;
          const problems = compileFor(platform, {}, `claims${path} == ${SAMPLE[litType]}`);
          const comparable =
            litType === type ||
            (type === "object" && litType === "object") ||
            (type === "array" && litType === "array");
          if (comparable) assert.deepEqual(problems, [], `${platform} ${key} ${litType}`);
          else assert.match(problems[0]?.message ?? "", /cannot compare/, `${platform} ${key} ${litType}`);
        },
      ),
    );
  });

  it("providers[].claims declares the shape of any provider, over the built-in one", () => {
    const own = { build_number: "number" as const, repository_id: "number" as const };
    assert.match(
      compileFor("github", { build_number: "7" }, undefined, own)[0]?.message ?? "",
      /is a number/,
    );
    assert.deepEqual(
      compileFor("github", { build_number: 7, repository_id: 7 }, "claims.build_number > 3", own),
      [],
    );
    assert.match(
      compileFor("github", {}, 'claims.build_number == "7"', own)[0]?.message ?? "",
      /cannot compare double with string/,
    );
  });

  it("an undeclared claim stays untyped, and a macro variable named claims is not the claims", () => {
    assert.deepEqual(compileFor("github", { repository_owner_id: "1", custom: 5 }, "claims.custom == 5"), []);
    assert.deepEqual(
      compileFor("github", {}, '[{"run_attempt": 1}].all(claims, claims.run_attempt == 1)'),
      [],
    );
  });
});
