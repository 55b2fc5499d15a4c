import { z } from "zod";
import { CLAIM_TYPES } from "../policy/platforms.ts";
import { IpParseError, parseCidr } from "../util/ip.ts";
import { mysqlTargetConfig, postgresTargetConfig } from "./database-schema.ts";
import { durationSchema, lifetimeSchema } from "./duration-schema.ts";
import { githubConfigSchema } from "./github-schema.ts";
import { resolveKmsStatuses, signingKmsEntrySchema } from "./kms-schema.ts";

/** Algorithms a provider may sign identity tokens with. `none` and HS* can never be listed. */
export const VERIFY_ALGORITHMS = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "EdDSA",
] as const;
export const DEFAULT_VERIFY_ALGORITHMS = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "ES256",
  "ES384",
  "EdDSA",
] as const;
export const DPOP_ALGORITHMS = ["ES256", "ES384", "EdDSA", "RS256", "PS256"] as const;
export const SIGNING_ALGORITHMS = ["ES256", "EdDSA", "RS256", "PS256"] as const;
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number];
export type VerifyAlgorithm = (typeof VERIFY_ALGORITHMS)[number];

const httpUrl = z.url({ protocol: /^https?$/ });

/** An address or CIDR through the same strict parser as policies' `sourceCidrs` (no `010.0.0.1`, no `10.1/16`). */
const cidrString = z.string().superRefine((text, ctx) => {
  try {
    parseCidr(text);
  } catch (e) {
    if (!(e instanceof IpParseError)) throw e;
    ctx.addIssue({ code: "custom", message: e.message });
  }
});

const providerSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "lower-case letters, digits and '-'"),
  issuer: httpUrl,
  audiences: z.array(z.string().min(1)).min(1).optional(),
  jwksUri: httpUrl.optional(),
  algorithms: z.array(z.enum(VERIFY_ALGORITHMS)).min(1).optional(),
  allowInsecureHttp: z.boolean().default(false),
  /** CONTRACT §5 "Claim types": JSON types of this provider's claims, over the built-in shape of its platform. */
  claims: z.record(z.string().min(1), z.enum(CLAIM_TYPES)).optional(),
  kubernetes: z
    .strictObject({
      // TokenReview checks the token against the provider's `audiences`.
      tokenReview: z.strictObject({ kubeconfig: z.string().min(1) }),
    })
    .optional(),
});

const clusterSchema = z.strictObject({ name: z.string().min(1), kubeconfig: z.string().min(1) });

export const configSchema = z
  .strictObject({
    issuer: httpUrl.default("http://127.0.0.1:8080"),
    listen: z
      .strictObject({
        host: z.string().default("0.0.0.0"),
        port: z.number().int().min(0).max(65535).default(8080),
      })
      .prefault({}),
    signing: z
      .strictObject({
        keysDir: z.string().optional(),
        algorithm: z.enum(SIGNING_ALGORITHMS).default("ES256"),
        /** CONTRACT §12: keys held in a KMS instead of keysDir (`algorithm` is then the certified instance keys'). */
        kms: z.array(signingKmsEntrySchema).min(1).optional(),
      })
      .superRefine((s, ctx) => {
        if (s.kms === undefined) return;
        if (s.keysDir !== undefined)
          ctx.addIssue({ code: "custom", path: ["kms"], message: "signing takes keysDir or kms, not both" });
        const statuses = resolveKmsStatuses(s.kms);
        if (typeof statuses === "string") ctx.addIssue({ code: "custom", path: ["kms"], message: statuses });
      })
      .prefault({}),
    store: z
      .strictObject({
        redis: z.string().optional(),
        /** Per-command Redis timeout; a store that answers slower fails closed (503). */
        commandTimeout: durationSchema.default(0.05),
      })
      .prefault({}),
    policies: z.string().default("./policies"),
    limits: z
      .strictObject({
        maxTtl: lifetimeSchema.default(3600),
        /** Clock skew tolerated on nbf/iat of presented tokens (CONTRACT §2: at most 60 s). */
        clockSkew: durationSchema
          .refine((s) => s <= 60, { message: "at most 60s (nbf/iat leeway; exp gets none)" })
          .default(60),
        /** CONTRACT §9: actors in an issued `act` chain, the new one included. */
        maxDelegationDepth: z.number().int().min(1).max(16).default(4),
      })
      .prefault({}),
    /** RFC 9449 proofs on /token. */
    dpop: z
      .strictObject({
        /** `dpop_signing_alg_values_supported`: asymmetric algorithms only (RFC 9449 §4.3 check 5). */
        algorithms: z
          .array(z.enum(DPOP_ALGORITHMS))
          .min(1)
          .default([...DPOP_ALGORITHMS]),
        /** Require the server's nonce in every proof (RFC 9449 §8); nonces rotate every minute, valid for five. */
        nonce: z.boolean().default(false),
      })
      .prefault({}),
    errors: z.strictObject({ verbose: z.boolean().default(false) }).prefault({}),
    http: z
      .strictObject({
        /** Proxies whose X-Forwarded-For is believed (CIDRs). Empty: the socket address is the client. */
        trustedProxies: z.array(cidrString).default([]),
      })
      .prefault({}),
    /** CONTRACT §7: `claims: true` adds the verified claims and the request to each event (what `policy diff` replays). */
    audit: z.strictObject({ claims: z.boolean().default(false) }).prefault({}),
    /** CONTRACT §13: `GET /playground`, off by default (on in `wif-broker dev`). */
    playground: z.strictObject({ enabled: z.boolean().default(false) }).prefault({}),
    providers: z.array(providerSchema).default([]),
    targets: z
      .strictObject({
        aws: z.strictObject({ region: z.string().min(1), endpoint: httpUrl.optional() }).optional(),
        gcp: z
          .strictObject({
            apiEndpoint: z.string().optional(),
            port: z.number().int().optional(),
            protocol: z.enum(["http", "https"]).optional(),
          })
          .optional(),
        kubernetes: z.strictObject({ clusters: z.array(clusterSchema).default([]) }).optional(),
        postgres: postgresTargetConfig.optional(),
        mysql: mysqlTargetConfig.optional(),
        github: githubConfigSchema.optional(),
      })
      .prefault({}),
  })
  .superRefine((c, ctx) => {
    // A certified key signs for half its statement's lifetime: every token it signed must expire before the statement.
    c.signing.kms?.forEach((entry, i) => {
      if (entry.mode === "certified" && entry.keyLifetime < 2 * c.limits.maxTtl)
        ctx.addIssue({
          code: "custom",
          path: ["signing", "kms", i, "keyLifetime"],
          message: "must be at least twice limits.maxTtl",
        });
    });
  });

export type Config = z.output<typeof configSchema>;
export type ProviderConfig = Config["providers"][number];
