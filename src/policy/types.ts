import type { Reason } from "../reasons.ts";
import type { MysqlGrant } from "./mysql-grant.ts";
import type {
  AwsTargetSpec,
  GcpTargetSpec,
  GithubTargetSpec,
  KubernetesTargetSpec,
  PostgresTargetSpec,
} from "./schema.ts";

/** What a request asks for, as the decision sees it (all wire parsing already done). */
export interface DecisionRequest {
  /** The requested target name (`audience` or `resource`). */
  audience: string;
  /** Requested scopes; null when the request named none. */
  scopes: readonly string[] | null;
  sourceIp: string | undefined;
  /** Epoch milliseconds. */
  now: number;
  /** RFC 7523 §2.2 `client_id`, when the client named one: only the policy of that name may admit. */
  clientId?: string | undefined;
  /** RFC 8693 §2.1 actor_token, verified: who wants to act for the subject (CONTRACT §9). */
  actor?: DecisionActor | undefined;
  /** `requested_token_type` is the Txn-Token URN (draft-ietf-oauth-transaction-tokens §11.1). */
  txnToken?: boolean | undefined;
  /** A valid DPoP proof came with the request (RFC 9449): the issued token will be sender-constrained. */
  dpop?: boolean | undefined;
}

/** A verified actor token as the decision sees it. */
export interface DecisionActor {
  provider: string;
  subject: string;
  claims: Readonly<Record<string, unknown>>;
}

/** RFC 8693 §4.1 `act`: the current actor, with the prior chain nested as `act.act`. */
export type ActClaim = { sub: string; iss?: string; act?: ActClaim } & Record<string, unknown>;

/** A target with every template already rendered from the subject token's claims. */
export type ResolvedTarget =
  | { kind: "jwt"; audience: string }
  | { kind: "aws"; audience: string; aws: RenderedAws }
  | { kind: "gcp"; audience: string; gcp: GcpTargetSpec }
  | { kind: "kubernetes"; audience: string; kubernetes: KubernetesTargetSpec }
  | { kind: "postgres"; audience: string; postgres: PostgresTargetSpec }
  | { kind: "mysql"; audience: string; mysql: ResolvedMysql }
  | { kind: "github"; audience: string; github: GithubTargetSpec };

/** A MySQL target with its grants parsed (policy/mysql-grant.ts): the minter renders SQL from these values only. */
export interface ResolvedMysql {
  connection: string;
  grants: MysqlGrant[];
}

export type RenderedAws = Omit<AwsTargetSpec, "sessionName" | "sessionTags" | "sourceIdentity"> & {
  sessionName?: string;
  sessionTags: Record<string, string>;
  sourceIdentity?: string;
};

export type TargetKind = ResolvedTarget["kind"];

/** What an allowed decision grants; everything a minter needs and nothing it must re-derive. */
export interface Grant {
  /** Admitting policy name; becomes `client_id` of issued tokens. */
  policy: string;
  provider: string;
  /** Rendered `sub` of the issued token. */
  subject: string;
  /** Rendered templated claims of the issued broker token. */
  claims: Record<string, string>;
  scopes: string[];
  /** Lifetime in seconds: min(target ttl ?? policy ttl ?? default, limits.maxTtl). */
  ttl: number;
  target: ResolvedTarget;
  singleUse: boolean;
  rateLimit: { requests: number; per: number } | undefined;
  /** The issued token's `act` chain (the new actor outermost), when delegated or when the subject token had one. */
  act?: ActClaim;
  /** Issue a Transaction Token (draft-ietf-oauth-transaction-tokens) instead of an access token. */
  txnToken?: boolean;
}

/** One check of one policy, for explain, audit and `policy test` alike. */
export interface CheckResult {
  check: string;
  ok: boolean;
  /** Why it failed, naming the check and never echoing claim values. */
  message?: string;
  /** `explain` only (never `decide`, so never audit or HTTP): the pattern the check wants, as written. */
  expected?: string;
  /** `explain` only: the value the check saw (JSON for claims; "(missing)" when absent). */
  actual?: string;
}

export interface PolicyTrace {
  policy: string;
  /** Identity admitted (match, condition and access all held). */
  admitted: boolean;
  checks: CheckResult[];
}

export type DenyCode =
  | "no_policy"
  | "invalid_target"
  | "invalid_scope"
  | "template"
  /** actor not admitted, `may_act` mismatch, or the chain too deep (CONTRACT §9: 400 invalid_request) */
  | "actor"
  /** the requested token type is not what the target issues (a Txn-Token from a plain target, or vice versa) */
  | "token_type"
  /** the target requires DPoP and the request has no proof */
  | "dpop_required";

export type Decision =
  | { allow: true; grant: Grant; trace: PolicyTrace[] }
  | {
      allow: false;
      code: DenyCode;
      reason: Reason;
      detail: string;
      /** The policy that admitted the identity but refused the request (its target, scope, …); none: no policy did. */
      policy?: string;
      /** invalid_scope: the requested scopes refused (the client's own request, never a claim). */
      refusedScopes?: string[];
      trace: PolicyTrace[];
    };
