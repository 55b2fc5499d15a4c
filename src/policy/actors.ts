import type { CompiledActor, CompiledMatch, CompiledPolicy } from "./compile.ts";
import { lookupClaim } from "./pointer.ts";
import type { ActClaim, CheckResult, DecisionActor, DecisionRequest } from "./types.ts";

/** CONTRACT §9 `limits.maxDelegationDepth`: actors in the issued `act` chain, the new one included. */
export const DEFAULT_MAX_DELEGATION_DEPTH = 4;

const ok = (check: string): CheckResult => ({ check, ok: true });
const fail = (check: string, message: string): CheckResult => ({ check, ok: false, message });

/** One `match` entry against a token's claims: a missing claim never matches (CONTRACT §5). */
export function checkMatch(
  m: CompiledMatch,
  claims: Readonly<Record<string, unknown>>,
  check: string,
): CheckResult {
  const value = lookupClaim(claims, m.path);
  if (value === undefined) return fail(check, "claim is missing");
  return m.matcher.test(value) ? ok(check) : fail(check, `${m.matcher.kind} does not hold`);
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * The depth of an `act` chain (RFC 8693 §4.1), or a reason it is malformed: every level is an object naming its
 * actor by a string `sub`. Bounded: the walk stops one level past `limit`.
 */
export function chainDepth(act: unknown, limit: number): number | string {
  let depth = 0;
  let level = act;
  while (level !== undefined) {
    if (!isObject(level)) return "act is not a JSON object";
    if (typeof level.sub !== "string" || level.sub === "") return "an act level has no sub";
    if (level.iss !== undefined && typeof level.iss !== "string") return "an act level has a non-string iss";
    depth++;
    if (depth > limit) return depth;
    level = level.act;
  }
  return depth;
}

/** JSON equality of claim values, never coercing ("1" is not 1). */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a))
    return Array.isArray(b) && a.length === b.length && a.every((x, i) => sameJson(x, b[i]));
  if (isObject(a) && isObject(b)) {
    const keys = Object.keys(a);
    return (
      keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && sameJson(a[k], b[k]))
    );
  }
  return false;
}

/**
 * RFC 8693 §4.4: `may_act` in the subject token names who may act for it; every member it lists must equal the
 * actor token's claim of the same name.
 */
function checkMayAct(mayAct: unknown, actor: DecisionActor): CheckResult {
  if (mayAct === undefined) return ok("may_act");
  if (!isObject(mayAct) || Object.keys(mayAct).length === 0)
    return fail("may_act", "the subject token's may_act is not a non-empty JSON object");
  const matches = Object.entries(mayAct).every(
    ([name, value]) => Object.hasOwn(actor.claims, name) && sameJson(actor.claims[name], value),
  );
  return matches
    ? ok("may_act")
    : fail("may_act", "the actor is not the one the subject token's may_act names");
}

/** Does this `actors` entry admit the actor? Provider, then every match entry, then the condition. */
function checkEntry(
  entry: CompiledActor,
  i: number,
  actor: DecisionActor,
  subjectClaims: Readonly<Record<string, unknown>>,
  req: DecisionRequest,
): CheckResult[] {
  const at = `actors[${i}]`;
  if (!entry.providers.includes(actor.provider))
    return [fail(`${at}.provider`, "actor token is from another provider")];
  const checks: CheckResult[] = [];
  for (const m of entry.match) {
    const c = checkMatch(m, actor.claims, `${at}.match.${m.key}`);
    checks.push(c);
    if (!c.ok) return checks;
  }
  if (entry.condition) {
    const r = entry.condition.evaluate({
      claims: actor.claims,
      subject: subjectClaims,
      request: { audience: req.audience, scopes: req.scopes ?? [], sourceIp: req.sourceIp ?? "" },
      now: new Date(req.now),
    });
    checks.push(r.ok ? ok(`${at}.condition`) : fail(`${at}.condition`, r.error ?? "is false"));
  }
  return checks;
}

export type DelegationOutcome =
  | { ok: true; checks: CheckResult[]; act: ActClaim | undefined }
  | { ok: false; checks: CheckResult[] };

/**
 * Delegation as part of the decision (pure): may this actor act for this subject under this policy, and what is
 * the issued `act` chain? The new actor is outermost and the subject token's own chain is nested inside it
 * unchanged (RFC 8693 §4.1) — never dropped, also when no actor token comes with the request.
 */
export function checkDelegation(
  policy: CompiledPolicy,
  subjectClaims: Readonly<Record<string, unknown>>,
  req: DecisionRequest,
  maxDepth: number,
): DelegationOutcome {
  const checks: CheckResult[] = [];
  const prior = subjectClaims.act;
  const actor = req.actor;
  if (actor) {
    if (!policy.actors) return { ok: false, checks: [fail("actors", "the policy admits no actors")] };
    let admitted = false;
    for (const [i, entry] of policy.actors.entries()) {
      const entryChecks = checkEntry(entry, i, actor, subjectClaims, req);
      if (entryChecks.every((c) => c.ok)) {
        checks.push(...entryChecks);
        admitted = true;
        break;
      }
      checks.push(...entryChecks);
    }
    if (!admitted)
      return { ok: false, checks: [...checks, fail("actor", "no actors entry admits the actor")] };
    checks.push(ok("actor"));
    const mayAct = checkMayAct(subjectClaims.may_act, actor);
    checks.push(mayAct);
    if (!mayAct.ok) return { ok: false, checks };
  }
  if (prior === undefined && !actor) return { ok: true, checks, act: undefined };

  const priorDepth = prior === undefined ? 0 : chainDepth(prior, maxDepth);
  if (typeof priorDepth === "string") return { ok: false, checks: [...checks, fail("act", priorDepth)] };
  const depth = priorDepth + (actor ? 1 : 0);
  if (depth > maxDepth)
    return {
      ok: false,
      checks: [...checks, fail("delegation_depth", `the act chain would be deeper than ${maxDepth}`)],
    };
  checks.push(ok("delegation_depth"));
  if (!actor) return { ok: true, checks, act: prior as ActClaim };
  const iss = actor.claims.iss;
  const act: ActClaim = {
    ...(typeof iss === "string" ? { iss } : {}),
    sub: actor.subject,
    ...(prior === undefined ? {} : { act: prior as ActClaim }),
  };
  return { ok: true, checks, act };
}
