import { z } from "zod";
import { durationSchema } from "./duration-schema.ts";

/**
 * `targets.postgres` / `targets.mysql` (CONTRACT §8). The admin login's secret is never in the file: the URL
 * carries no password; it comes from `passwordFile` (read at every connect, so a rotated file is picked up) or
 * from an IAM auth token (`awsRdsIam`, `gcpIam`), so that no password is stored at all.
 */
const adminUrl = (protocols: readonly string[]) =>
  z
    .string()
    .refine(
      (u) => {
        try {
          return protocols.includes(new URL(u).protocol);
        } catch {
          return false;
        }
      },
      { message: `a ${protocols.map((p) => `${p}//`).join(" or ")} URL` },
    )
    .refine((u) => URL.canParse(u) && new URL(u).password === "", {
      message: "the URL must not carry a password: use passwordFile, awsRdsIam or gcpIam",
    })
    .refine((u) => URL.canParse(u) && new URL(u).username !== "", {
      message: "the URL must name the admin user",
    })
    .refine((u) => URL.canParse(u) && new URL(u).pathname.length > 1, {
      message: "the URL must name the database",
    });

/** Schema (PostgreSQL) or database (MySQL) that holds the lease table; `wif_broker` by default. */
const leaseSchema = z
  .string()
  .regex(/^[a-z_][a-z0-9_]{0,62}$/, "lower-case letters, digits and _")
  .default("wif_broker");

const connection = (protocols: readonly string[]) =>
  z
    .strictObject({
      name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/, "letters, digits, _ and -"),
      url: adminUrl(protocols),
      passwordFile: z.string().min(1).optional(),
      awsRdsIam: z
        .strictObject({ region: z.string().min(1) })
        .optional()
        .describe("the admin logs in with an RDS IAM auth token signed with the broker's AWS identity"),
      gcpIam: z
        .strictObject({})
        .optional()
        .describe(
          "the admin logs in with a Cloud SQL IAM token of the broker's Application Default Credentials",
        ),
      leaseSchema,
      /** Pool size for this connection. */
      maxConnections: z.number().int().min(2).max(100).default(10),
    })
    .refine((c) => [c.passwordFile, c.awsRdsIam, c.gcpIam].filter((x) => x !== undefined).length <= 1, {
      message: "at most one of passwordFile, awsRdsIam, gcpIam",
    });

const databaseTarget = (protocols: readonly string[]) =>
  z.strictObject({
    /** How often expired leases are revoked (tests use 1s). */
    reapInterval: durationSchema.default(30),
    connections: z
      .array(connection(protocols))
      .min(1)
      .refine((cs) => new Set(cs.map((c) => c.name)).size === cs.length, {
        message: "connection names must be unique",
      }),
  });

export const postgresTargetConfig = databaseTarget(["postgres:", "postgresql:"]);
export const mysqlTargetConfig = databaseTarget(["mysql:", "mariadb:"]);
export type DatabaseTargetConfig = z.output<typeof postgresTargetConfig>;
export type DatabaseConnectionConfig = DatabaseTargetConfig["connections"][number];
