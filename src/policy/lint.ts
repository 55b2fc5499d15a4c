import { compileMatcher } from "./matcher.ts";
import { type DescribedProvider, describeProvider, PLATFORMS } from "./platforms.ts";
import { parseClaimKey } from "./pointer.ts";
import type { MatcherInput, TrustPolicy } from "./schema.ts";

/**
 * Policy lint (CONTRACT §5): policies that compile but admit more than their author meant. One table of rules;
 * each rule is a small function over a pre-digested view of the policy and says what to pin instead. Errors
 * (`multi-tenant-unpinned`, `wildcard-only`) keep the policy from loading unless `spec.acknowledge` names the rule
 * with a reason; warnings are logged at load and fail `validate --strict`. Platform facts live in platforms.ts.
 */

export interface LintFinding {
  rule: string;
  severity: "warning" | "error";
  /** Where in the policy document, e.g. `spec.match.repository`. */
  path: string;
  message: string;
  /** The `spec.acknowledge` reason, when the policy acknowledges this rule: the finding then does not block. */
  acknowledged?: string;
}

export interface LintContext {
  /** Provider name → issuer URL from the config; may be empty, and then a provider's name is all there is. */
  providerIssuers: ReadonlyMap<string, string>;
}

// ---------------------------------------------------------------------------------------------------------
// The policy, digested

interface MatchEntry {
  key: string;
  /** The claim path as `a/b/c` whether the key was a name or a JSON Pointer. */
  claim: string;
  matcher: MatcherInput;
  path: string;
}

interface Subject {
  policy: TrustPolicy;
  providers: DescribedProvider[];
  match: MatchEntry[];
  /** `spec.match`, or `spec.actors[i].match` for an actor. */
  matchPath: string;
  /** Each `spec.actors` entry, digested the same way: an actor is pinned like a subject (CONTRACT §9). */
  actors: Subject[];
}

type Issue = { path: string; message: string };

function digestMatch(
  policy: TrustPolicy,
  provider: string | string[],
  match: Record<string, MatcherInput>,
  matchPath: string,
  ctx: LintContext,
): Subject {
  const names = typeof provider === "string" ? [provider] : provider;
  return {
    policy,
    providers: names.map((name) => {
      const issuer = ctx.providerIssuers.get(name);
      return describeProvider(issuer === undefined ? { name } : { name, issuer });
    }),
    match: Object.entries(match).map(([key, matcher]) => ({
      key,
      claim: parseClaimKey(key).join("/"),
      matcher,
      path: `${matchPath}.${key}`,
    })),
    matchPath,
    actors: [],
  };
}

function digest(policy: TrustPolicy, ctx: LintContext): Subject {
  const subject = digestMatch(policy, policy.spec.provider, policy.spec.match, "spec.match", ctx);
  subject.actors = (policy.spec.actors ?? []).map((a, i) =>
    digestMatch(policy, a.provider, a.match, `spec.actors[${i}].match`, ctx),
  );
  return subject;
}

type Literal = string | number | boolean;

/** The literal values an exact or `in` matcher accepts; undefined for glob, regex and not. */
function exactValues(m: MatcherInput): readonly Literal[] | undefined {
  if (typeof m !== "object") return [m];
  if ("in" in m) return m.in;
  if ("glob" in m && !/[*?]/.test(m.glob)) return [m.glob];
  if ("regex" in m && !/[\\^$.|?*+()[\]{}]/.test(m.regex)) return [m.regex];
  return undefined;
}

/** The literal text every matching value starts with (glob and regex up to the first wildcard). */
function literalPrefixes(m: MatcherInput): readonly string[] {
  const exact = exactValues(m);
  if (exact) return exact.map(String);
  if (typeof m === "object" && "glob" in m) return [m.glob.split(/[*?]/, 1)[0] ?? ""];
  if (typeof m === "object" && "regex" in m && !m.regex.includes("|")) {
    const source = m.regex.replace(/^\^/, "");
    const meta = source.search(/[\\^$.|?*+()[\]{}]/);
    if (meta === -1) return [source];
    // `?`, `*` and `{0,…}` make the character before them optional: it is not part of the prefix.
    return [source.slice(0, "?*{".includes(source[meta] ?? "") ? Math.max(0, meta - 1) : meta)];
  }
  return [];
}

const isNegative = (m: MatcherInput) => typeof m === "object" && "not" in m;
const entry = (s: Subject, claim: string) => s.match.find((e) => e.claim === claim);
/** Is the claim pinned to one or a few exact values? */
const pinned = (s: Subject, claim: string) => {
  const e = entry(s, claim);
  return e !== undefined && exactValues(e.matcher) !== undefined;
};
/** Is the claim constrained at all (anything but a `not`)? */
const constrained = (s: Subject, claim: string) => {
  const e = entry(s, claim);
  return e !== undefined && !isNegative(e.matcher);
};

/** GitHub's immutable subject `repo:OWNER@OWNER_ID/REPO@REPO_ID:…` carries the IDs in `sub` itself. */
const IMMUTABLE_GITHUB_SUB = /^repo:[^/@:]+@\d+\//;
const subPrefixes = (s: Subject) => {
  const e = entry(s, "sub");
  return e && !isNegative(e.matcher) ? literalPrefixes(e.matcher) : [];
};
const subPinsGithubOwner = (s: Subject) => {
  const prefixes = subPrefixes(s);
  return prefixes.length > 0 && prefixes.every((p) => IMMUTABLE_GITHUB_SUB.test(p));
};

const hours = (seconds: number) => `${Math.round((seconds / 3600) * 100) / 100}h`;

// ---------------------------------------------------------------------------------------------------------
// Rules

/** A name that can be released and re-registered by someone else, and the ID that cannot. */
const NAME_CLAIMS: ReadonlyArray<{ name: string; id: string }> = [
  { name: "repository", id: "repository_id" },
  { name: "repository_owner", id: "repository_owner_id" },
  { name: "actor", id: "actor_id" },
  { name: "project_path", id: "project_id" },
  { name: "namespace_path", id: "namespace_id" },
  { name: "user_login", id: "user_id" },
];

const DANGEROUS_EVENTS: ReadonlyArray<{ event: string; why: string }> = [
  {
    event: "pull_request_target",
    why: "runs with the base repository's identity for pull requests, including ones from forks",
  },
  {
    event: "workflow_run",
    why: "runs with the repository's identity after another workflow, including one a fork's pull request started",
  },
];

const K8S_UID = "kubernetes.io/serviceaccount/uid";
const K8S_NAME_CLAIMS = ["kubernetes.io/serviceaccount/name", "kubernetes.io/namespace"];

interface Rule {
  id: string;
  severity: LintFinding["severity"];
  summary: string;
  check(s: Subject): Issue[];
}

export const LINT_RULES: readonly Rule[] = [
  {
    id: "multi-tenant-unpinned",
    severity: "error",
    summary: "a multi-tenant issuer (GitHub, GitLab.com, …) without the owner's or namespace's ID pinned",
    check: (subject) =>
      [subject, ...subject.actors].flatMap((s) =>
        s.providers.flatMap((p) => {
          if (!p.multiTenant || p.platform === undefined) return [];
          const info = PLATFORMS[p.platform];
          if (info.tenantPins.some((c) => pinned(s, c))) return [];
          if (p.platform === "github" && subPinsGithubOwner(s)) return [];
          const who = s === subject ? "this policy" : "this actors entry";
          return [
            {
              path: s.matchPath,
              message: `provider ${p.described} issues tokens for every ${info.label} customer, and ${who} pins no owner ID: ${info.pinAdvice}`,
            },
          ];
        }),
      ),
  },
  {
    id: "wildcard-only",
    severity: "error",
    summary: "a match made only of globs, regexes and nots",
    check: (s) => {
      if (s.match.length === 0) {
        return [
          {
            path: "spec.match",
            message: "match is empty: every token of the provider passes it; pin claims to exact values",
          },
        ];
      }
      if (s.match.some((e) => exactValues(e.matcher) !== undefined)) return [];
      return [
        {
          path: "spec.match",
          message:
            "every match entry is a glob, regex or not: pin at least one claim to an exact value, preferably an ID",
        },
      ];
    },
  },
  {
    id: "dangerous-event",
    severity: "warning",
    summary: "pull_request_target or workflow_run admitted by event_name",
    check: (s) => {
      const e = entry(s, "event_name");
      if (!e) return [];
      let matcher: ReturnType<typeof compileMatcher>;
      try {
        matcher = compileMatcher(e.matcher);
      } catch {
        return []; // an invalid pattern is a compile error, reported by the loader
      }
      return DANGEROUS_EVENTS.filter((d) => matcher.test(d.event)).map((d) => ({
        path: e.path,
        message: `event_name admits ${d.event}, which ${d.why}; list the events you mean, e.g. { in: [push, workflow_dispatch] }`,
      }));
    },
  },
  {
    id: "reusable-workflow-unpinned",
    severity: "warning",
    summary: "workflow or workflow_ref matched without job_workflow_ref",
    check: (s) => {
      if (constrained(s, "job_workflow_ref")) return [];
      if (subPrefixes(s).some((p) => p.includes("job_workflow_ref:"))) return [];
      return ["workflow_ref", "workflow"].flatMap((claim) => {
        const e = entry(s, claim);
        if (!e || isNegative(e.matcher)) return [];
        const what =
          claim === "workflow"
            ? "workflow is a display name any workflow file in the repository can claim"
            : "workflow_ref is the calling workflow; a job that runs a reusable workflow runs that workflow's code";
        return [
          {
            path: e.path,
            message: `${what}: match job_workflow_ref (the workflow file and ref the job runs) instead`,
          },
        ];
      });
    },
  },
  {
    id: "k8s-name-without-uid",
    severity: "warning",
    summary: "a Kubernetes service account matched by name without its UID",
    check: (s) => {
      if (pinned(s, K8S_UID)) return [];
      const byName = s.match.filter(
        (e) =>
          !isNegative(e.matcher) &&
          (K8S_NAME_CLAIMS.includes(e.claim) ||
            (e.claim === "sub" &&
              literalPrefixes(e.matcher).some((p) => p.startsWith("system:serviceaccount:")))),
      );
      const first = byName[0];
      if (!first) return [];
      const what =
        first.claim === "kubernetes.io/namespace" && byName.length === 1
          ? "the namespace is matched by name, which admits every service account created in it, now or later"
          : "the service account is matched by name, which also admits an account deleted and re-created under that name";
      return [{ path: first.path, message: `${what}; pin /kubernetes.io/serviceaccount/uid exactly` }];
    },
  },
  {
    id: "ttl-over-hour",
    severity: "warning",
    summary: "a grant or target lifetime over one hour",
    check: (s) => {
      const { grant } = s.policy.spec;
      const lifetimes: Array<[string, number | undefined]> = [["spec.grant.ttl", grant.ttl]];
      grant.targets.forEach((t, i) => {
        const at = `spec.grant.targets[${i}]`;
        lifetimes.push(
          [`${at}.ttl`, t.ttl],
          [`${at}.aws.duration`, t.aws?.duration],
          [`${at}.gcp.lifetime`, t.gcp?.lifetime],
          [`${at}.kubernetes.expiration`, t.kubernetes?.expiration],
        );
      });
      return lifetimes
        .filter((l): l is [string, number] => l[1] !== undefined && l[1] > 3600)
        .map(([path, seconds]) => ({
          path,
          message: `lifetime ${hours(seconds)} is over one hour; issue short-lived credentials (15m is typical) and let the workload exchange again`,
        }));
    },
  },
  {
    id: "name-without-id",
    severity: "warning",
    summary: "a repository, owner, project or user matched by name without its ID",
    check: (s) => {
      const named = NAME_CLAIMS.flatMap(({ name, id }) => {
        const e = entry(s, name);
        if (!e || isNegative(e.matcher) || pinned(s, id)) return [];
        return [
          {
            path: e.path,
            message: `${name} is a name that can be deleted and re-registered by someone else; also pin ${id} exactly`,
          },
        ];
      });
      const sub = entry(s, "sub");
      const prefixes = subPrefixes(s);
      const legacyGithubSub =
        prefixes.some((p) => p.startsWith("repo:") && !IMMUTABLE_GITHUB_SUB.test(p)) &&
        !pinned(s, "repository_owner_id") &&
        !pinned(s, "repository_id");
      const gitlabSub = prefixes.some((p) => p.startsWith("project_path:")) && !pinned(s, "project_id");
      if (sub && (legacyGithubSub || gitlabSub)) {
        const advice = legacyGithubSub
          ? "pin repository_owner_id and repository_id, or match GitHub's immutable sub repo:OWNER@OWNER_ID/REPO@REPO_ID:…"
          : "pin project_id (and namespace_id)";
        named.push({ path: sub.path, message: `sub names the repository, not its ID; ${advice}` });
      }
      return named;
    },
  },
  {
    id: "github-broad-token",
    severity: "warning",
    summary: "a GitHub target granting administration: write, or every repository of an owner",
    check: (s) =>
      s.policy.spec.grant.targets.flatMap((t, i) => {
        if (!t.github) return [];
        const at = `spec.grant.targets[${i}].github`;
        const issues: Issue[] = [];
        const admin = t.github.permissions.administration;
        if (admin === "write" || admin === "admin") {
          issues.push({
            path: `${at}.permissions.administration`,
            message:
              "administration: write lets the token change repository settings, branch protection and collaborators; grant the permissions the job uses (contents, pull_requests, …)",
          });
        }
        if (t.github.repositories === undefined) {
          issues.push({
            path: `${at}.repositories`,
            message: `no repositories listed: the token reaches every repository the App can reach in ${t.github.owner}, now and later; list them`,
          });
        }
        return issues;
      }),
  },
];

export function lintPolicy(policy: TrustPolicy, ctx: LintContext): LintFinding[] {
  const subject = digest(policy, ctx);
  const acknowledged = new Map((policy.spec.acknowledge ?? []).map((a) => [a.rule as string, a.reason]));
  return LINT_RULES.flatMap((rule) =>
    rule.check(subject).map((issue) => {
      const reason = acknowledged.get(rule.id);
      return {
        rule: rule.id,
        severity: rule.severity,
        ...issue,
        ...(reason === undefined ? {} : { acknowledged: reason }),
      };
    }),
  );
}
