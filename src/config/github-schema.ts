import { z } from "zod";
import { kmsKeySchema } from "./kms-schema.ts";

/** CONTRACT §11 `targets.github`: the GitHub App whose installation tokens the broker hands out. */
export const githubConfigSchema = z
  .strictObject({
    /** The App's ID (or its client ID): the `iss` of the App JWT. */
    appId: z.union([z.number().int().positive().transform(String), z.string().regex(/^[0-9A-Za-z.]{1,64}$/)]),
    /** The PEM GitHub hands out (PKCS#1 `BEGIN RSA PRIVATE KEY`; PKCS#8 also accepted). */
    privateKeyFile: z.string().min(1).optional(),
    /** Or the App key held in a KMS (an RSA key: the App JWT is RS256). */
    privateKey: z.strictObject({ kms: kmsKeySchema }).optional(),
    /** GitHub Enterprise Server: `https://ghe.example.com/api/v3` (the path is kept on every call). */
    apiUrl: z.url({ protocol: /^https?$/ }).default("https://api.github.com"),
  })
  .refine((g) => (g.privateKeyFile === undefined) !== (g.privateKey === undefined), {
    message: "exactly one of privateKeyFile, privateKey",
  });

export type GithubConfig = z.output<typeof githubConfigSchema>;
