import { z } from "zod";
import { durationSchema, lifetimeSchema } from "../config/duration-schema.ts";
import { parseMysqlGrant } from "./mysql-grant.ts";

/**
 * The trust policy language (CONTRACT §5). This schema is the single source of truth: the loader validates
 * with it, the TypeScript types are inferred from it and `wif-broker policy schema` prints it as JSON Schema.
 */

/** RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ). */
export const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

/** Claims the broker sets itself; a policy's templated claims may not override them (RFC 9068 §2.2). */
export const RESERVED_CLAIMS = [
  "iss",
  "sub",
  "aud",
  "exp",
  "nbf",
  "iat",
  "jti",
  "client_id",
  "scope",
  // RFC 8693 §4.1 / §4.4, RFC 9449 §6.1 and the Txn-Token claims (draft-ietf-oauth-transaction-tokens §9.2).
  "act",
  "may_act",
  "cnf",
  "txn",
  "req_wl",
  "rctx",
  "tctx",
] as const;

export type MatcherInput =
  | string
  | number
  | boolean
  | { glob: string }
  | { regex: string }
  | { in: Array<string | number | boolean> }
  | { not: MatcherInput };

const literal = z.union([z.string(), z.number(), z.boolean()]);

export const matcherSchema: z.ZodType<MatcherInput> = z.lazy(() =>
  z.union([
    z.string().describe("exact, case-sensitive match of a string claim"),
    z.number().describe("exact match of a number claim (never coerced from a string)"),
    z.boolean().describe("exact match of a boolean claim"),
    z.strictObject({ glob: z.string().min(1).describe("* never crosses '/'; ** does") }),
    z.strictObject({ regex: z.string().min(1).describe("RE2 syntax, anchored at both ends") }),
    z.strictObject({ in: z.array(literal).min(1) }),
    z.strictObject({ not: matcherSchema }),
  ]),
);

/** A claim name, or a JSON Pointer (RFC 6901) into nested claims when it starts with '/'. */
const claimKey = z.string().min(1);

const templateString = z.string().min(1).describe("template: {{claims.NAME}} or {{claims./json/pointer}}");

/** `aws.rdsAuthToken`: an RDS IAM auth token signed with the credentials the AWS target obtains. */
const rdsAuthToken = z.strictObject({
  hostname: z.string().regex(/^[A-Za-z0-9.-]{1,253}$/, "a host name"),
  port: z.number().int().min(1).max(65535),
  username: z.string().regex(/^[A-Za-z0-9_$@.-]{1,63}$/, "a database user name"),
  region: z
    .string()
    .regex(/^[a-z0-9-]{1,32}$/, "an AWS region")
    .optional(),
});

const awsTarget = z.strictObject({
  roleArn: z.string().regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/, "an IAM role ARN"),
  sessionName: templateString.optional(),
  duration: durationSchema.optional(),
  sessionTags: z.record(z.string(), templateString).optional(),
  transitiveTagKeys: z.array(z.string()).optional(),
  sourceIdentity: templateString.optional(),
  sessionPolicy: z.string().optional().describe("inline IAM session policy (JSON)"),
  mode: z.enum(["webIdentity", "assumeRole"]).default("webIdentity"),
  rdsAuthToken: rdsAuthToken.optional(),
});

const gcpTarget = z
  .strictObject({
    serviceAccount: z.email(),
    scopes: z.array(z.string().min(1)).min(1).optional(),
    lifetime: durationSchema.optional(),
    delegates: z.array(z.string()).optional(),
    /** CONTRACT §3: set → an ID token for this audience (generateIdToken) instead of an access token. */
    idTokenAudience: z.string().min(1).optional(),
    includeEmail: z.boolean().optional().describe("ID tokens: add the email and email_verified claims"),
  })
  .superRefine((g, ctx) => {
    if (g.idTokenAudience === undefined && g.includeEmail !== undefined)
      ctx.addIssue({ code: "custom", path: ["includeEmail"], message: "includeEmail needs idTokenAudience" });
    if (g.idTokenAudience !== undefined && (g.scopes !== undefined || g.lifetime !== undefined))
      ctx.addIssue({
        code: "custom",
        path: ["idTokenAudience"],
        message: "an ID token target takes no scopes or lifetime (Google sets an ID token's lifetime: 1h)",
      });
  })
  .transform((g) =>
    g.idTokenAudience === undefined && g.scopes === undefined
      ? { ...g, scopes: ["https://www.googleapis.com/auth/cloud-platform"] }
      : g,
  );

/** GitHub App installation permission levels, weakest first (a request scope may ask for a weaker one). */
export const GITHUB_PERMISSION_LEVELS = ["read", "write", "admin"] as const;
export type GithubPermissionLevel = (typeof GITHUB_PERMISSION_LEVELS)[number];

/** CONTRACT §11: an installation token limited to these repositories of `owner` and these permissions. */
const githubTarget = z.strictObject({
  owner: z
    .string()
    .regex(/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/, "a GitHub user or organisation login")
    .describe("the account the App is installed on"),
  repositories: z
    .array(z.string().regex(/^[A-Za-z0-9._-]{1,100}$/, "a repository name (without the owner)"))
    .min(1)
    .optional()
    .describe("absent: every repository the installation can reach (a lint warning)"),
  permissions: z
    .record(
      z.string().regex(/^[a-z][a-z_]*$/, "a GitHub App permission name"),
      z.enum(GITHUB_PERMISSION_LEVELS),
    )
    .refine((p) => Object.keys(p).length > 0, { message: "name at least one permission" }),
});

const kubernetesTarget = z.strictObject({
  cluster: z.string().min(1),
  namespace: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "a namespace name"),
  serviceAccount: z.string().regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, "a service account name"),
  audiences: z.array(z.string().min(1)).optional(),
  expiration: durationSchema.optional(),
});

/** A PostgreSQL role name: 1–63 bytes (NAMEDATALEN − 1), no control characters; always quoted when used. */
const postgresRole = z
  .string()
  .regex(/^[^\p{Cc}]+$/u, "no control characters")
  .refine((r) => new TextEncoder().encode(r).length <= 63, { message: "at most 63 bytes" });

/** Names a configured connection (targets.postgres / targets.mysql in the config). */
const connectionName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/, "a connection name");

const postgresTarget = z.strictObject({
  connection: connectionName,
  roles: z.array(postgresRole).min(1).describe("roles the lease login is granted (membership)"),
  ttl: lifetimeSchema.optional(),
});

const mysqlTarget = z.strictObject({
  connection: connectionName,
  grants: z
    .array(
      z.string().superRefine((g, ctx) => {
        try {
          parseMysqlGrant(g);
        } catch (e) {
          ctx.addIssue({ code: "custom", message: (e as Error).message });
        }
      }),
    )
    .min(1)
    .describe('"PRIVILEGE[, …] ON database.table" or "… ON database.*"'),
  ttl: lifetimeSchema.optional(),
});

export const targetSchema = z
  .strictObject({
    audience: z.string().min(1).describe("what a client names in `audience` or `resource`"),
    aliases: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .describe(
        "other names a client may use for this audience, compared exactly (e.g. the //iam.googleapis.com/… audience of a gcloud-generated credential file); issued tokens carry `audience`",
      ),
    scopes: z.array(z.string().regex(SCOPE_TOKEN, "an RFC 6749 §3.3 scope token")).optional(),
    defaultScopes: z.array(z.string()).optional(),
    ttl: lifetimeSchema.optional(),
    requireDpop: z
      .boolean()
      .optional()
      .describe(
        "refuse requests without a DPoP proof (RFC 9449): issued tokens are always sender-constrained",
      ),
    txnToken: z
      .boolean()
      .optional()
      .describe(
        "the audience is a trust domain: issue Transaction Tokens (draft-ietf-oauth-transaction-tokens) only",
      ),
    aws: awsTarget.optional(),
    gcp: gcpTarget.optional(),
    kubernetes: kubernetesTarget.optional(),
    postgres: postgresTarget.optional(),
    mysql: mysqlTarget.optional(),
    github: githubTarget.optional(),
  })
  .superRefine((t, ctx) => {
    (t.aliases ?? []).forEach((alias, i, all) => {
      if (alias === t.audience || all.indexOf(alias) !== i)
        ctx.addIssue({
          code: "custom",
          path: ["aliases", i],
          message: `alias "${alias}" repeats ${alias === t.audience ? "the audience" : "another alias"}`,
        });
    });
    const kinds = [t.aws, t.gcp, t.kubernetes, t.postgres, t.mysql, t.github].filter(
      (k) => k !== undefined,
    ).length;
    if (kinds > 1)
      ctx.addIssue({
        code: "custom",
        message: "a target is at most one of aws, gcp, kubernetes, postgres, mysql, github",
      });
    if ((t.postgres || t.mysql) && (t.scopes !== undefined || t.defaultScopes !== undefined))
      ctx.addIssue({ code: "custom", path: ["scopes"], message: "database targets take no scopes" });
    if (t.github && (t.scopes !== undefined || t.defaultScopes !== undefined)) {
      ctx.addIssue({
        code: "custom",
        path: ["scopes"],
        message: "a GitHub target's scopes are its permissions (request scope contents:read narrows them)",
      });
    }
    for (const s of t.defaultScopes ?? []) {
      if (!(t.scopes ?? []).includes(s)) {
        ctx.addIssue({
          code: "custom",
          path: ["defaultScopes"],
          message: `default scope "${s}" is not in scopes`,
        });
      }
    }
    if ((t.aws || t.kubernetes) && t.scopes?.length) {
      ctx.addIssue({
        code: "custom",
        path: ["scopes"],
        message: "AWS and Kubernetes targets take no scopes",
      });
    }
    if (t.txnToken && kinds > 0) {
      ctx.addIssue({
        code: "custom",
        path: ["txnToken"],
        message: "Transaction Tokens are broker JWTs, not cloud credentials",
      });
    }
    if (t.gcp && (t.scopes !== undefined || t.defaultScopes !== undefined)) {
      ctx.addIssue({ code: "custom", path: ["scopes"], message: "a GCP target's scopes are gcp.scopes" });
    }
  });

const dayName = z.enum(["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]);
const clockTime = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, "HH:MM (24h)");

export const accessSchema = z.strictObject({
  sourceCidrs: z.array(z.string().min(1)).min(1).optional(),
  schedule: z
    .strictObject({
      timezone: z.string().min(1).describe("IANA time zone"),
      days: z.array(dayName).min(1).optional(),
      from: clockTime.optional(),
      to: clockTime.optional(),
    })
    .optional(),
});

/** Lint errors a policy may acknowledge (CONTRACT §5 "Lint"): the policy then loads, and the reason is logged. */
export const ACKNOWLEDGEABLE_RULES = ["multi-tenant-unpinned", "wildcard-only"] as const;

const acknowledgement = z.strictObject({
  rule: z.enum(ACKNOWLEDGEABLE_RULES),
  reason: z
    .string()
    .trim()
    .min(1, "a reason is required: say why this policy may admit more than one tenant or every token")
    .max(500)
    .describe("why the policy really means it; logged when the policy loads"),
});

/** RFC 8693 §4.1 delegation: who may act for the subjects a policy admits (CONTRACT §9). */
export const actorSchema = z.strictObject({
  provider: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
  match: z.record(claimKey, matcherSchema).default({}),
  condition: z
    .string()
    .min(1)
    .optional()
    .describe("CEL over claims (the actor's), subject (the subject token's claims), request and now"),
});

export const policySchema = z.strictObject({
  apiVersion: z.literal("wif-broker/v1"),
  kind: z.literal("TrustPolicy"),
  metadata: z.strictObject({
    name: z.string().regex(/^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?$/, "lower-case DNS label style name"),
    description: z.string().optional(),
    labels: z.record(z.string(), z.string()).optional(),
  }),
  spec: z.strictObject({
    provider: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
    match: z.record(claimKey, matcherSchema).default({}),
    condition: z.string().min(1).optional().describe("CEL over claims, request and now"),
    access: accessSchema.optional(),
    actors: z
      .array(actorSchema)
      .min(1)
      .optional()
      .describe("who may act for the admitted subject (actor_token); absent → delegation is refused"),
    singleUse: z.boolean().default(false),
    acknowledge: z
      .array(acknowledgement)
      .optional()
      .describe("lint errors this policy means to have, each with the reason"),
    rateLimit: z.strictObject({ requests: z.number().int().positive(), per: durationSchema }).optional(),
    grant: z.strictObject({
      ttl: lifetimeSchema.optional(),
      subject: templateString.optional(),
      claims: z
        .record(z.string(), templateString)
        .refine((c) => !Object.keys(c).some((k) => (RESERVED_CLAIMS as readonly string[]).includes(k)), {
          message: `templated claims may not set ${RESERVED_CLAIMS.join(", ")}`,
        })
        .optional(),
      targets: z.array(targetSchema).min(1),
    }),
  }),
});

export type TrustPolicyInput = z.input<typeof policySchema>;
export type TrustPolicy = z.output<typeof policySchema>;
export type TargetSpec = z.output<typeof targetSchema>;
export type AwsTargetSpec = NonNullable<TargetSpec["aws"]>;
export type GcpTargetSpec = NonNullable<TargetSpec["gcp"]>;
export type KubernetesTargetSpec = NonNullable<TargetSpec["kubernetes"]>;
export type PostgresTargetSpec = NonNullable<TargetSpec["postgres"]>;
export type MysqlTargetSpec = NonNullable<TargetSpec["mysql"]>;
export type GithubTargetSpec = NonNullable<TargetSpec["github"]>;
export type AccessSpec = z.output<typeof accessSchema>;
export type ActorSpec = z.output<typeof actorSchema>;
