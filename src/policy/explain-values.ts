import { zonedTime } from "./access.ts";
import { type CompiledPolicy, type CompiledTarget, targetFor } from "./compile.ts";
import type { DecisionSubject } from "./evaluate.ts";
import { lookupClaim } from "./pointer.ts";
import type { MatcherInput } from "./schema.ts";
import type { CheckResult, DecisionRequest, PolicyTrace } from "./types.ts";

/**
 * The expected pattern and the actual value of each check, for `explain` only: `policy explain` (run offline by
 * the operator who holds the claims) and the playground. `decide` never calls this, so neither the audit trail
 * nor an HTTP error description ever carries a claim value.
 */

const shown = (value: unknown): string => (value === undefined ? "(missing)" : JSON.stringify(value));
const list = (values: Iterable<string>) => {
  const all = [...values];
  return all.length === 0 ? "(none)" : all.join(" ");
};

/** A `match` entry as written: `"x"`, `glob "refs/*"`, `in ["a", "b"]`, `not regex "…"`. */
export function describeMatcher(m: MatcherInput): string {
  if (typeof m !== "object") return JSON.stringify(m);
  if ("glob" in m) return `glob ${JSON.stringify(m.glob)}`;
  if ("regex" in m) return `regex ${JSON.stringify(m.regex)}`;
  if ("in" in m) return `in [${m.in.map((v) => JSON.stringify(v)).join(", ")}]`;
  return `not ${describeMatcher(m.not)}`;
}

/** A target's audience with its aliases, as explain lists targets: `gcp-deployer (alias //iam.googleapis.com/…)`. */
export const targetNames = (t: CompiledTarget): string =>
  t.aliases.length === 0 ? t.audience : `${t.audience} (alias ${t.aliases.join(", ")})`;

const pad = (n: number) => String(n).padStart(2, "0");
const DAY_NAMES = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

function values(
  policy: CompiledPolicy,
  c: CheckResult,
  who: DecisionSubject,
  req: DecisionRequest,
): { expected: string; actual: string } | undefined {
  const spec = policy.spec.spec;
  if (c.check === "provider") return { expected: list(policy.providers), actual: who.provider };
  if (c.check === "client_id") return { expected: policy.name, actual: req.clientId ?? "(none)" };
  if (c.check.startsWith("match.")) {
    const m = policy.match.find((x) => `match.${x.key}` === c.check);
    const input = m ? spec.match[m.key] : undefined;
    if (!m || input === undefined) return undefined;
    return { expected: describeMatcher(input), actual: shown(lookupClaim(who.claims, m.path)) };
  }
  if (c.check === "condition")
    return { expected: `${spec.condition ?? ""} is true`, actual: c.ok ? "true" : (c.message ?? "false") };
  if (c.check === "access.sourceCidrs")
    return { expected: `in ${list(spec.access?.sourceCidrs ?? [])}`, actual: req.sourceIp || "(unknown)" };
  if (c.check === "access.schedule" && spec.access?.schedule) {
    const s = spec.access.schedule;
    const t = zonedTime(req.now, s.timezone);
    return {
      expected: `${(s.days ?? DAY_NAMES).join(",")} ${s.from ?? "00:00"}–${s.to ?? "24:00"} ${s.timezone}`,
      actual: `${DAY_NAMES[t.weekday]} ${pad(t.hour)}:${pad(t.minute)} ${s.timezone}`,
    };
  }
  if (c.check === "target")
    return { expected: list([...policy.targets.values()].map(targetNames)), actual: req.audience };
  if (c.check === "scope") {
    const target = targetFor(policy, req.audience);
    return {
      expected:
        target && target.kind !== "aws" && target.kind !== "kubernetes"
          ? list(target.allowedScopes)
          : "(no scopes)",
      actual: req.scopes === null ? "(none)" : list(req.scopes),
    };
  }
  if (c.check === "template")
    return { expected: "every claim a template names, as a string or number", actual: c.message ?? "" };
  return undefined;
}

/** Adds `expected` and `actual` to every check of a policy's trace. */
export function annotateTrace(
  policy: CompiledPolicy,
  trace: PolicyTrace,
  who: DecisionSubject,
  req: DecisionRequest,
): void {
  for (const c of trace.checks) {
    const v = values(policy, c, who, req);
    if (v) Object.assign(c, v);
  }
}
