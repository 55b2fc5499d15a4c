import type { Reason } from "../reasons.ts";
import { checkDelegation, checkMatch, DEFAULT_MAX_DELEGATION_DEPTH } from "./actors.ts";
import { type CompiledPolicy, type CompiledTarget, targetFor } from "./compile.ts";
import { annotateTrace } from "./explain-values.ts";
import type { PolicySet } from "./policy-set.ts";
import type {
  ActClaim,
  CheckResult,
  Decision,
  DecisionRequest,
  DenyCode,
  Grant,
  PolicyTrace,
  ResolvedTarget,
} from "./types.ts";

/** The identity a decision is about: a verified token's provider, subject and claims. */
export interface DecisionSubject {
  provider: string;
  subject: string;
  claims: Readonly<Record<string, unknown>>;
}

export interface DecisionLimits {
  /** `limits.maxTtl`, seconds. */
  maxTtl: number;
  /** Lifetime when neither target nor policy sets `ttl`. */
  defaultTtl: number;
  /** `limits.maxDelegationDepth` (CONTRACT §9); default 4. */
  maxDelegationDepth?: number;
}

export const DEFAULT_TTL_SECONDS = 900;
/** draft-ietf-oauth-transaction-tokens §6: Txn-Tokens are short-lived ("minutes or less"); 5 min unless the target says. */
export const TXN_TOKEN_TTL_SECONDS = 300;

/**
 * AWS credentials live one hour unless the target or policy says otherwise (STS's own default): botocore
 * refreshes credential_process credentials that expire within 15 minutes before every call, so a default of
 * 15 minutes would run the process once per API call (CONTRACT §3: at least 20 minutes left).
 */
export const AWS_DEFAULT_TTL_SECONDS = 3600;

/**
 * Deny by default (CONTRACT §5). The first policy by name whose provider issued the token, whose match,
 * condition and access all hold, and which has the requested target with the requested scopes, admits.
 * `decide` stops at the first failing check of each candidate; `explain` checks every policy in full. Both
 * return the same Decision value that audit, `policy explain` and `policy test` read.
 */
export function decide(
  set: PolicySet,
  who: DecisionSubject,
  req: DecisionRequest,
  limits: DecisionLimits,
): Decision {
  return evaluate(set.candidates(who.provider, who.claims), who, req, limits, false);
}

export function explain(
  set: PolicySet,
  who: DecisionSubject,
  req: DecisionRequest,
  limits: DecisionLimits,
): Decision {
  return evaluate(set.policies, who, req, limits, true);
}

const DENY_PRIORITY: Record<DenyCode, number> = {
  no_policy: 0,
  actor: 1,
  template: 2,
  invalid_target: 3,
  token_type: 4,
  invalid_scope: 5,
  dpop_required: 6,
};
const DENY_REASON: Record<DenyCode, Reason> = {
  no_policy: "policy.no_match",
  actor: "policy.actor_not_admitted",
  token_type: "policy.token_type_not_issued",
  dpop_required: "policy.dpop_required",
  template: "policy.template_claim_missing",
  invalid_target: "policy.target_not_allowed",
  invalid_scope: "policy.scope_not_allowed",
};

function evaluate(
  candidates: readonly CompiledPolicy[],
  who: DecisionSubject,
  req: DecisionRequest,
  limits: DecisionLimits,
  exhaustive: boolean,
): Decision {
  const trace: PolicyTrace[] = [];
  let allowed: Grant | undefined;
  let deny: { code: DenyCode; detail: string; policy?: string; refusedScopes?: string[] } = {
    code: "no_policy",
    detail: "no policy admits this identity",
  };
  const denyWith = (code: DenyCode, detail: string, policy: string, refusedScopes?: string[]) => {
    if (DENY_PRIORITY[code] > DENY_PRIORITY[deny.code])
      deny = { code, detail, policy, ...(refusedScopes ? { refusedScopes } : {}) };
  };
  if (exhaustive && candidates.length === 0) deny.detail = "no policies are loaded";

  for (const policy of candidates) {
    const t = checkIdentity(policy, who, req, exhaustive);
    trace.push(t);
    if (!t.admitted) {
      if (deny.code === "no_policy" && trace.length === 1) deny.detail = firstFailure(t);
      continue;
    }
    const delegation = checkDelegation(
      policy,
      who.claims,
      req,
      limits.maxDelegationDepth ?? DEFAULT_MAX_DELEGATION_DEPTH,
    );
    t.checks.push(...delegation.checks);
    if (!delegation.ok) {
      denyWith("actor", firstFailure(t), policy.name);
      continue;
    }
    const outcome = grantFor(policy, who, req, limits, delegation.act);
    t.checks.push(...outcome.checks);
    if (!outcome.grant) {
      denyWith(
        outcome.code,
        `${policy.name}: ${outcome.checks.at(-1)?.message ?? outcome.code}`,
        policy.name,
        outcome.refusedScopes,
      );
      continue;
    }
    allowed ??= outcome.grant;
    if (!exhaustive) break;
  }
  // explain only: the expected pattern and actual value of every check (never in decide, so never in audit).
  if (exhaustive) {
    trace.forEach((t, i) => {
      annotateTrace(candidates[i] as CompiledPolicy, t, who, req);
    });
  }
  if (allowed) return { allow: true, grant: allowed, trace };
  const { code, ...refusal } = deny;
  return { allow: false, code, reason: DENY_REASON[code], ...refusal, trace };
}

function firstFailure(t: PolicyTrace): string {
  const failed = t.checks.find((c) => !c.ok);
  return `${t.policy}: ${failed?.check ?? "policy"} ${failed?.message ?? "does not hold"}`;
}

/** match, condition and access: does this policy admit the identity at all? */
function checkIdentity(
  policy: CompiledPolicy,
  who: DecisionSubject,
  req: DecisionRequest,
  exhaustive: boolean,
): PolicyTrace {
  const checks: CheckResult[] = [];
  const record = (c: CheckResult) => {
    checks.push(c);
    return c.ok || exhaustive;
  };
  const done = () => ({ policy: policy.name, admitted: checks.every((c) => c.ok), checks });

  if (
    !record(
      policy.providers.includes(who.provider)
        ? ok("provider")
        : fail("provider", "token is from another provider"),
    )
  ) {
    return done();
  }
  // RFC 7523 §2.2 client_id, when named, selects the policy (the client_id of issued tokens).
  if (
    req.clientId !== undefined &&
    !record(req.clientId === policy.name ? ok("client_id") : fail("client_id", "names another policy"))
  ) {
    return done();
  }
  for (const m of policy.match) {
    if (!record(checkMatch(m, who.claims, `match.${m.key}`))) return done();
  }
  if (policy.condition) {
    const r = policy.condition.evaluate({
      claims: who.claims,
      request: { audience: req.audience, scopes: req.scopes ?? [], sourceIp: req.sourceIp ?? "" },
      now: new Date(req.now),
    });
    if (!record(r.ok ? ok("condition") : fail("condition", r.error ?? "is false"))) return done();
  }
  if (policy.access) {
    for (const c of policy.access.check({ sourceIp: req.sourceIp, now: req.now }))
      if (!record(c)) return done();
  }
  return done();
}

type GrantOutcome =
  | { grant: Grant; checks: CheckResult[] }
  | { grant?: undefined; code: DenyCode; checks: CheckResult[]; refusedScopes?: string[] };

/** Target, scopes, lifetime and templates of an admitting policy. */
function grantFor(
  policy: CompiledPolicy,
  who: DecisionSubject,
  req: DecisionRequest,
  limits: DecisionLimits,
  act: ActClaim | undefined,
): GrantOutcome {
  const target = targetFor(policy, req.audience);
  if (!target)
    return { code: "invalid_target", checks: [fail("target", "no target has the requested audience")] };
  const checks = [ok("target")];
  // draft-ietf-oauth-transaction-tokens §11.1: a trust domain issues Txn-Tokens, and only a trust domain does.
  if (Boolean(req.txnToken) !== target.txnToken) {
    const message = target.txnToken
      ? "this target issues Transaction Tokens only (requested_token_type txn_token)"
      : "this target does not issue Transaction Tokens";
    return { code: "token_type", checks: [...checks, fail("token_type", message)] };
  }

  const scopes = target.txnToken
    ? txnScopes(target, req.scopes, who.claims.scope)
    : resolveScopes(target, req.scopes);
  if (typeof scopes === "string")
    return {
      code: "invalid_scope",
      checks: [...checks, fail("scope", scopes)],
      refusedScopes: refusedScopes(target, req.scopes ?? []),
    };
  checks.push(ok("scope"));
  // RFC 9449: a target that only takes sender-constrained tokens.
  if (target.requireDpop) {
    if (!req.dpop)
      return {
        code: "dpop_required",
        checks: [...checks, fail("dpop", "this target requires a DPoP proof")],
      };
    checks.push(ok("dpop"));
  }

  const rendered = renderAll(policy, target, who);
  if ("missing" in rendered) {
    return {
      code: "template",
      checks: [...checks, fail("template", `claim ${rendered.missing} is missing or not a scalar`)],
    };
  }
  return {
    checks,
    grant: {
      policy: policy.name,
      provider: who.provider,
      subject: rendered.subject,
      claims: rendered.claims,
      scopes,
      ttl: target.txnToken
        ? Math.min(target.ttl ?? TXN_TOKEN_TTL_SECONDS, limits.maxTtl)
        : Math.min(
            target.ttl ?? policy.ttl ?? (target.kind === "aws" ? AWS_DEFAULT_TTL_SECONDS : limits.defaultTtl),
            limits.maxTtl,
          ),
      target: rendered.target,
      singleUse: policy.singleUse,
      rateLimit: policy.rateLimit,
      ...(act === undefined ? {} : { act }),
      ...(target.txnToken ? { txnToken: true } : {}),
    },
  };
}

/**
 * Requested scopes must be a subset of the target's (CONTRACT §5); only broker JWTs, GCP and GitHub (permission
 * scopes such as contents:read, CONTRACT §11) take scopes — AWS, Kubernetes and database targets take none.
 */
function resolveScopes(target: CompiledTarget, requested: readonly string[] | null): string[] | string {
  if (requested === null || requested.length === 0) return [...target.defaultScopes];
  if (target.kind !== "jwt" && target.kind !== "gcp" && target.kind !== "github")
    return "this target takes no scopes";
  const extra = requested.filter((s) => !target.allowedScopes.has(s));
  return extra.length === 0 ? [...new Set(requested)] : "a requested scope is not allowed for this target";
}

/** The requested scopes a refusal names: those outside the target's scopes, or all of them when none is. */
function refusedScopes(target: CompiledTarget, requested: readonly string[]): string[] {
  const outside = requested.filter((s) => !target.allowedScopes.has(s));
  return outside.length > 0 ? outside : [...requested];
}

/**
 * Txn-Token scope (draft-ietf-oauth-transaction-tokens §13.6, §13.14): within the target's scopes and, when the
 * subject token carries a `scope`, within that too — a Txn-Token only narrows. The `scope` claim is REQUIRED
 * (§9.2), so an empty result is refused.
 */
function txnScopes(
  target: CompiledTarget,
  requested: readonly string[] | null,
  subjectScope: unknown,
): string[] | string {
  const within = resolveScopes(target, requested);
  if (typeof within === "string") return within;
  let granted = within;
  if (subjectScope !== undefined) {
    if (typeof subjectScope !== "string") return "the subject token's scope is not a string";
    const held = new Set(subjectScope.split(" ").filter(Boolean));
    if (requested?.some((s) => !held.has(s))) return "a requested scope is wider than the subject token's";
    granted = within.filter((s) => held.has(s));
  }
  return granted.length > 0 ? granted : "a Transaction Token needs a scope (request one the target allows)";
}

type Rendered =
  | { subject: string; claims: Record<string, string>; target: ResolvedTarget }
  | { missing: string };

function renderAll(policy: CompiledPolicy, target: CompiledTarget, who: DecisionSubject): Rendered {
  let subject = `${who.provider}:${who.subject}`;
  if (policy.subject) {
    const r = policy.subject.render(who.claims);
    if (!r.ok) return { missing: r.missing };
    subject = r.value;
  }
  const claims: Record<string, string> = {};
  for (const [name, template] of policy.claims) {
    const r = template.render(who.claims);
    if (!r.ok) return { missing: r.missing };
    claims[name] = r.value;
  }
  const values = new Map<string, string>();
  for (const [name, template] of target.templates) {
    const r = template.render(who.claims);
    if (!r.ok) return { missing: r.missing };
    values.set(name, r.value);
  }
  return { subject, claims, target: resolveTarget(target, values) };
}

function resolveTarget(target: CompiledTarget, values: Map<string, string>): ResolvedTarget {
  const { spec, audience } = target;
  if (spec.aws) {
    const { sessionName: _n, sessionTags: _t, sourceIdentity: _s, ...rest } = spec.aws;
    const sessionTags: Record<string, string> = {};
    for (const key of Object.keys(spec.aws.sessionTags ?? {}))
      sessionTags[key] = values.get(`sessionTags.${key}`) ?? "";
    const sessionName = values.get("sessionName");
    const sourceIdentity = values.get("sourceIdentity");
    return {
      kind: "aws",
      audience,
      aws: {
        ...rest,
        sessionTags,
        ...(sessionName !== undefined ? { sessionName } : {}),
        ...(sourceIdentity !== undefined ? { sourceIdentity } : {}),
      },
    };
  }
  if (spec.gcp) return { kind: "gcp", audience, gcp: spec.gcp };
  if (spec.kubernetes) return { kind: "kubernetes", audience, kubernetes: spec.kubernetes };
  if (spec.postgres) return { kind: "postgres", audience, postgres: spec.postgres };
  if (spec.mysql) {
    const mysql = { connection: spec.mysql.connection, grants: [...target.mysqlGrants] };
    return { kind: "mysql", audience, mysql };
  }
  if (spec.github) return { kind: "github", audience, github: spec.github };
  return { kind: "jwt", audience };
}

const ok = (check: string): CheckResult => ({ check, ok: true });
const fail = (check: string, message: string): CheckResult => ({ check, ok: false, message });
