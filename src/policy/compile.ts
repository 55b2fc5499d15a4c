import { type CompiledAccess, compileAccess } from "./access.ts";
import { ConditionRuntime } from "./cel/environment.ts";
import { type CompiledCondition, compileCondition } from "./cel.ts";
import {
  checkDeclaredType,
  compileMatcher,
  type Matcher,
  MatcherError,
  newPatternCache,
  type PatternCache,
} from "./matcher.ts";
import { type MysqlGrant, parseMysqlGrant } from "./mysql-grant.ts";
import { claimPointer, type DescribedProvider, describeProvider } from "./platforms.ts";
import { type ClaimPath, isValidPointer, parseClaimKey } from "./pointer.ts";
import {
  type ActorSpec,
  GITHUB_PERMISSION_LEVELS,
  type GithubPermissionLevel,
  type MatcherInput,
  type TargetSpec,
  type TrustPolicy,
} from "./schema.ts";
import { compileTemplate, type Template } from "./template.ts";
import type { TargetKind } from "./types.ts";

/**
 * Compile once, check many times (octo-sts): every regex, glob, template and CEL expression of a policy is
 * built and validated here, so evaluation does no parsing and a broken policy never reaches a request.
 */
export interface CompiledMatch {
  key: string;
  path: ClaimPath;
  matcher: Matcher;
}

export interface CompiledTarget {
  /** The canonical audience: what issued tokens carry as `aud`. */
  audience: string;
  /** Other names a client may use for it (exact strings). */
  aliases: readonly string[];
  kind: TargetKind;
  spec: TargetSpec;
  /** Scopes a client may request for this target (for GCP: `gcp.scopes`). */
  allowedScopes: ReadonlySet<string>;
  /** Scopes granted when the request names none. */
  defaultScopes: readonly string[];
  ttl: number | undefined;
  templates: Map<string, Template>;
  /** A MySQL target's grants, parsed once here. */
  mysqlGrants: readonly MysqlGrant[];
  /** RFC 9449: refuse requests without a DPoP proof. */
  requireDpop: boolean;
  /** A trust domain: issues Transaction Tokens only (draft-ietf-oauth-transaction-tokens). */
  txnToken: boolean;
}

/** One `spec.actors` entry: who may act for the admitted subject (RFC 8693 §4.1). */
export interface CompiledActor {
  providers: readonly string[];
  match: readonly CompiledMatch[];
  condition: CompiledCondition | undefined;
}

export interface CompiledPolicy {
  name: string;
  description: string | undefined;
  providers: readonly string[];
  match: readonly CompiledMatch[];
  condition: CompiledCondition | undefined;
  access: CompiledAccess | undefined;
  /** Undefined: the policy admits no actors, and an actor_token is refused. */
  actors: readonly CompiledActor[] | undefined;
  singleUse: boolean;
  rateLimit: { requests: number; per: number } | undefined;
  ttl: number | undefined;
  subject: Template | undefined;
  claims: ReadonlyArray<readonly [string, Template]>;
  /** By canonical audience; look up a requested name with `targetFor`, which also knows the aliases. */
  targets: ReadonlyMap<string, CompiledTarget>;
  /** alias → canonical audience, for this policy's targets. */
  aliases: ReadonlyMap<string, string>;
  source: PolicySource;
  /** The validated input, for lint and explain. */
  spec: TrustPolicy;
}

export interface PolicySource {
  file: string;
  /** Index of the YAML document within the file. */
  document: number;
}

/** A compile failure naming the file, the path inside the document and what is wrong. */
export class PolicyCompileError extends Error {
  override name = "PolicyCompileError";
  readonly path: string;
  constructor(path: string, message: string) {
    super(message);
    this.path = path;
  }
}

function attempt<T>(path: string, build: () => T): T {
  try {
    return build();
  } catch (e) {
    if (e instanceof PolicyCompileError) throw e;
    throw new PolicyCompileError(path, e instanceof Error ? e.message : String(e));
  }
}

function targetKind(t: TargetSpec): CompiledTarget["kind"] {
  if (t.aws) return "aws";
  if (t.gcp) return "gcp";
  if (t.kubernetes) return "kubernetes";
  if (t.postgres) return "postgres";
  if (t.mysql) return "mysql";
  if (t.github) return "github";
  return "jwt";
}

function compileTarget(t: TargetSpec, path: string, scope: CompileScope): CompiledTarget {
  const kind = targetKind(t);
  const templates = new Map<string, Template>();
  if (t.aws) {
    const add = (name: string, source: string | undefined) => {
      if (source !== undefined)
        templates.set(
          name,
          attempt(`${path}.aws.${name}`, () => template(scope, source)),
        );
    };
    add("sessionName", t.aws.sessionName);
    add("sourceIdentity", t.aws.sourceIdentity);
    for (const [k, v] of Object.entries(t.aws.sessionTags ?? {})) add(`sessionTags.${k}`, v);
  }
  const allowed =
    kind === "gcp"
      ? (t.gcp?.scopes ?? [])
      : kind === "github"
        ? githubScopes(t.github?.permissions ?? {})
        : (t.scopes ?? []);
  return {
    audience: t.audience,
    aliases: t.aliases ?? [],
    kind,
    spec: t,
    allowedScopes: new Set(allowed),
    defaultScopes:
      kind === "gcp"
        ? allowed
        : kind === "github"
          ? githubScopes(t.github?.permissions ?? {}, "granted")
          : (t.defaultScopes ?? []),
    // CONTRACT §8 puts a database lease's ttl inside its block (`postgres: { …, ttl: 1h }`).
    ttl: t.postgres?.ttl ?? t.mysql?.ttl ?? t.ttl,
    templates,
    mysqlGrants: (t.mysql?.grants ?? []).map((g, j) =>
      attempt(`${path}.mysql.grants[${j}]`, () => parseMysqlGrant(g)),
    ),
    requireDpop: t.requireDpop ?? false,
    txnToken: t.txnToken ?? false,
  };
}

/**
 * What the policies of one set share while compiled: RE2 programs by pattern and the CEL environment (with its
 * budget meter and `matches` cache). Owned by the set; nothing of it outlives the set.
 */
export interface CompileScope {
  patterns: PatternCache;
  conditions: ConditionRuntime;
  /** Templates are immutable once compiled: 10,000 policies templating `github:{{claims.repository}}` share one. */
  templates: Map<string, Template>;
}

export const newCompileScope = (): CompileScope => ({
  patterns: newPatternCache(),
  conditions: new ConditionRuntime(),
  templates: new Map(),
});

function template(scope: CompileScope, source: string): Template {
  let t = scope.templates.get(source);
  if (!t) {
    t = compileTemplate(source);
    scope.templates.set(source, t);
  }
  return t;
}

/**
 * A GitHub target's scopes are `permission:level` (CONTRACT §11): a request may ask for a permission at the level
 * the policy grants or a weaker one (`contents:read` of `contents: write`); none asked → every permission as granted.
 */
function githubScopes(
  permissions: Record<string, GithubPermissionLevel>,
  which: "allowed" | "granted" = "allowed",
) {
  return Object.entries(permissions).flatMap(([name, level]) => {
    const levels =
      which === "granted"
        ? [level]
        : GITHUB_PERMISSION_LEVELS.slice(0, GITHUB_PERMISSION_LEVELS.indexOf(level) + 1);
    return levels.map((l) => `${name}:${l}`);
  });
}

/**
 * `match` entries, each typed against the claim shapes of the providers that issue the tokens it reads (CONTRACT
 * §5 "Claim types").
 */
function compileMatch(
  match: Record<string, MatcherInput>,
  at: string,
  providers: readonly DescribedProvider[],
  scope: CompileScope,
): CompiledMatch[] {
  return Object.entries(match).map(([key, input]) =>
    attempt(`${at}.${key}`, () => {
      if (!isValidPointer(key)) throw new Error(`"${key}" is not a valid JSON Pointer`);
      for (const p of providers) {
        const declared = p.shape.get(claimPointer(key));
        if (declared === undefined) continue;
        try {
          checkDeclaredType(input, declared);
        } catch (e) {
          if (!(e instanceof MatcherError)) throw e;
          throw new MatcherError(e.message.replace("this provider", `provider ${p.name}`));
        }
      }
      return { key, path: parseClaimKey(key), matcher: compileMatcher(input, scope.patterns) };
    }),
  );
}

const providerList = (p: string | string[]): readonly string[] => (typeof p === "string" ? [p] : p);

/** An `actors` entry: its match and condition are typed by the actor's providers; `subject` is the subject's claims. */
function compileActor(
  actor: ActorSpec,
  i: number,
  describe: (name: string) => DescribedProvider,
  scope: CompileScope,
): CompiledActor {
  const at = `spec.actors[${i}]`;
  const condition = actor.condition;
  const providers = providerList(actor.provider).map(describe);
  const shapes = providers.map((p) => ({ provider: p.name, shape: p.shape }));
  return {
    providers: providers.map((p) => p.name),
    match: compileMatch(actor.match, `${at}.match`, providers, scope),
    condition:
      condition === undefined
        ? undefined
        : attempt(`${at}.condition`, () => compileCondition(condition, shapes, scope.conditions, "actor")),
  };
}

/**
 * `providers` are the policy's providers as the config describes them: their claim shapes type the `match`
 * literals and the condition (CONTRACT §5 "Claim types"). Unknown providers (no config) declare nothing.
 */
export function compilePolicy(
  policy: TrustPolicy,
  source: PolicySource,
  providers: readonly DescribedProvider[] = [],
  scope: CompileScope = newCompileScope(),
  describe: (name: string) => DescribedProvider = (name) =>
    providers.find((p) => p.name === name) ?? describeProvider({ name }),
): CompiledPolicy {
  const { spec } = policy;
  const match = compileMatch(spec.match, "spec.match", providers, scope);
  const shapes = providers.map((p) => ({ provider: p.name, shape: p.shape }));
  const targets = new Map<string, CompiledTarget>();
  const aliases = new Map<string, string>();
  spec.grant.targets.forEach((t, i) => {
    const path = `spec.grant.targets[${i}]`;
    if (targets.has(t.audience))
      throw new PolicyCompileError(`${path}.audience`, `audience "${t.audience}" is listed twice`);
    const aliasOf = aliases.get(t.audience);
    if (aliasOf !== undefined)
      throw new PolicyCompileError(
        `${path}.audience`,
        `audience "${t.audience}" is already an alias of target "${aliasOf}"`,
      );
    targets.set(t.audience, compileTarget(t, path, scope));
    (t.aliases ?? []).forEach((alias, j) => {
      const taken = targets.has(alias) ? alias : aliases.get(alias);
      if (taken !== undefined)
        throw new PolicyCompileError(
          `${path}.aliases[${j}]`,
          `alias "${alias}" of target "${t.audience}" is already a name of target "${taken}"`,
        );
      aliases.set(alias, t.audience);
    });
  });
  const condition = spec.condition;
  const access = spec.access;
  return {
    name: policy.metadata.name,
    description: policy.metadata.description,
    providers: providerList(spec.provider),
    match,
    condition:
      condition === undefined
        ? undefined
        : attempt("spec.condition", () => compileCondition(condition, shapes, scope.conditions)),
    access: access === undefined ? undefined : attempt("spec.access", () => compileAccess(access)),
    actors: spec.actors?.map((a, i) => compileActor(a, i, describe, scope)),
    singleUse: spec.singleUse,
    rateLimit: spec.rateLimit,
    ttl: spec.grant.ttl,
    subject:
      spec.grant.subject === undefined
        ? undefined
        : attempt("spec.grant.subject", () => template(scope, spec.grant.subject as string)),
    claims: Object.entries(spec.grant.claims ?? {}).map(
      ([name, source]) =>
        [name, attempt(`spec.grant.claims.${name}`, () => template(scope, source))] as const,
    ),
    targets,
    aliases,
    source,
    spec: policy,
  };
}

/** The policy's target a client names by its audience or by one of its aliases (exact strings, no patterns). */
export function targetFor(policy: CompiledPolicy, requested: string): CompiledTarget | undefined {
  const target = policy.targets.get(requested);
  if (target) return target;
  const canonical = policy.aliases.get(requested);
  return canonical === undefined ? undefined : policy.targets.get(canonical);
}
