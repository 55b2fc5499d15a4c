import { z } from "zod";
import { formatPath } from "../util/format-path.ts";
import { parseYaml } from "../util/yaml.ts";
import { type DecisionLimits, decide } from "./evaluate.ts";
import type { PolicySet } from "./policy-set.ts";
import type { Decision } from "./types.ts";

/** One case of a `*.test.yaml` policy fixture (CONTRACT §6). */
export const fixtureCaseSchema = z.strictObject({
  name: z.string().min(1),
  provider: z.string().min(1),
  claims: z.record(z.string(), z.unknown()),
  request: z.strictObject({
    audience: z.string().min(1),
    scope: z.string().optional(),
    sourceIp: z.string().optional(),
    time: z.iso.datetime({ offset: true }).optional(),
  }),
  /** RFC 8693 delegation: the actor token's provider and claims (CONTRACT §9). */
  actor: z
    .strictObject({ provider: z.string().min(1), claims: z.record(z.string(), z.unknown()) })
    .optional(),
  expect: z.enum(["allow", "deny"]),
  /** The policy that must admit the case. */
  policy: z.string().optional(),
});

export type FixtureCase = z.output<typeof fixtureCaseSchema>;

export interface FixtureResult {
  name: string;
  passed: boolean;
  message: string;
  decision: Decision;
}

export function parseFixtureFile(text: string, file: string): FixtureCase[] {
  const parsed = z.array(fixtureCaseSchema).safeParse(parseYaml(text));
  if (!parsed.success) {
    throw new Error(
      parsed.error.issues.map((i) => `${file}: ${formatPath(i.path)}: ${i.message}`).join("\n"),
    );
  }
  return parsed.data;
}

/** Runs one case through `decide`, the very function the broker's /token path calls. */
export function runFixtureCase(
  set: PolicySet,
  c: FixtureCase,
  limits: DecisionLimits,
  defaultNow: number,
): FixtureResult {
  const sub = c.claims.sub;
  const decision = decide(
    set,
    { provider: c.provider, subject: typeof sub === "string" ? sub : "", claims: c.claims },
    {
      audience: c.request.audience,
      scopes: c.request.scope === undefined ? null : c.request.scope.split(" ").filter(Boolean),
      sourceIp: c.request.sourceIp,
      now: c.request.time ? Date.parse(c.request.time) : defaultNow,
      ...(c.actor
        ? {
            actor: {
              provider: c.actor.provider,
              subject: typeof c.actor.claims.sub === "string" ? c.actor.claims.sub : "",
              claims: c.actor.claims,
            },
          }
        : {}),
    },
    limits,
  );
  const got = decision.allow ? "allow" : "deny";
  if (got !== c.expect) {
    const why = decision.allow ? `allowed by ${decision.grant.policy}` : `denied: ${decision.detail}`;
    return { name: c.name, passed: false, message: `expected ${c.expect}, got ${got} (${why})`, decision };
  }
  if (c.policy !== undefined && decision.allow && decision.grant.policy !== c.policy) {
    return {
      name: c.name,
      passed: false,
      message: `expected policy ${c.policy}, admitted by ${decision.grant.policy}`,
      decision,
    };
  }
  return {
    name: c.name,
    passed: true,
    message: decision.allow ? `allowed by ${decision.grant.policy}` : `denied (${decision.reason})`,
    decision,
  };
}
