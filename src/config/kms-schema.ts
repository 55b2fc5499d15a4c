import { z } from "zod";
import { durationSchema } from "./duration-schema.ts";

/** A key held in AWS KMS or Cloud KMS (CONTRACT §12), for the broker's signing keys and the GitHub App key. */
const awsKmsKey = z.strictObject({
  keyId: z.string().min(1).describe("key ID, key ARN or alias ARN"),
  region: z.string().min(1),
  endpoint: z
    .url({ protocol: /^https?$/ })
    .optional()
    .describe("endpoint override (tests, VPC endpoints)"),
  algorithm: z.enum(["RS256", "PS256"]).optional().describe("for an RSA key: RS256 (default) or PS256"),
});

const gcpKmsKey = z.strictObject({
  keyVersion: z
    .string()
    .regex(
      /^projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+\/cryptoKeys\/[^/]+\/cryptoKeyVersions\/[^/]+$/,
      "projects/…/locations/…/keyRings/…/cryptoKeys/…/cryptoKeyVersions/N",
    ),
  apiEndpoint: z.string().optional(),
  port: z.number().int().min(1).max(65535).optional(),
  protocol: z.enum(["http", "https"]).optional(),
});

const kmsKeyFields = {
  aws: awsKmsKey.optional(),
  gcp: gcpKmsKey.optional(),
  /** Bound on one KMS operation, retries included, within the request's own deadline. */
  timeout: durationSchema.default(2),
};
const exactlyOne = [
  (k: { aws?: unknown; gcp?: unknown }) => (k.aws === undefined) !== (k.gcp === undefined),
  { message: "exactly one of aws, gcp" },
] as const;

export const kmsKeySchema = z.strictObject(kmsKeyFields).refine(...exactlyOne);

export const signingKmsEntrySchema = z
  .strictObject({
    ...kmsKeyFields,
    /** active: the first entry without a status; next and retired keys are published but never sign. */
    status: z.enum(["active", "next", "retired"]).optional(),
    /** direct: KMS signs every token; certified: KMS certifies an in-memory instance key once. */
    mode: z.enum(["direct", "certified"]).default("direct"),
    /** certified mode: how long a KMS statement about an instance key holds (the key is renewed at half of it). */
    keyLifetime: durationSchema.default(86_400),
  })
  .refine(...exactlyOne);

export type KmsKeyConfig = z.output<typeof kmsKeySchema>;
export type SigningKmsEntry = z.output<typeof signingKmsEntrySchema>;

/**
 * CONTRACT §12: the entry marked `active`, else the first entry without `status`, signs; every other entry says
 * `next` or `retired`, so that no key's role is left to the order of the list.
 */
export function resolveKmsStatuses(
  entries: readonly SigningKmsEntry[],
): Array<"active" | "next" | "retired"> | string {
  const explicit = entries.filter((e) => e.status === "active").length;
  if (explicit > 1) return "at most one entry may be active";
  let activeSeen = explicit === 1;
  const statuses: Array<"active" | "next" | "retired"> = [];
  for (const e of entries) {
    if (e.status !== undefined) statuses.push(e.status);
    else if (activeSeen) return "only the active entry may omit status: give the others next or retired";
    else {
      activeSeen = true;
      statuses.push("active");
    }
  }
  if (!statuses.includes("active")) return "one entry must be active (give it no status)";
  return statuses;
}
