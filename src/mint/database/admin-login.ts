import { readFile } from "node:fs/promises";
import type { DatabaseConnectionConfig } from "../../config/database-schema.ts";

/**
 * The password the broker's admin login presents (CONTRACT §8): read from `passwordFile` at every new
 * connection (a rotated file is picked up), or an IAM auth token, so that no password is stored at all:
 *   awsRdsIam — an RDS IAM auth token (a SigV4-presigned `connect` URL, valid 15 min) signed with the broker's
 *               AWS identity from the SDK default chain (@aws-sdk/rds-signer);
 *   gcpIam    — a Cloud SQL IAM database login: an OAuth access token of the broker's Application Default
 *               Credentials with the `sqlservice.login` scope (google-auth-library).
 * The SDKs load only when a connection uses them.
 */
export interface AdminPassword {
  /** undefined: no password (e.g. trust or peer authentication). */
  get(): Promise<string | undefined>;
  /** How long a fetched password may be reused for new connections (IAM tokens expire). */
  readonly reuseMs: number;
}

export interface AdminEndpoint {
  host: string;
  port: number;
  user: string;
}

/** IAM tokens live 15 min (RDS) or about an hour (Google); reuse them for 10 min at most. */
const IAM_REUSE_MS = 10 * 60_000;

export type TokenSource = () => Promise<string>;

export interface AdminLoginOverrides {
  /** Tests: the AWS credentials the RDS signer uses (default: the SDK default chain). */
  awsCredentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Tests: the Google access token source (default: Application Default Credentials). */
  gcpToken?: TokenSource;
}

export function adminPassword(
  conn: DatabaseConnectionConfig,
  endpoint: AdminEndpoint,
  overrides: AdminLoginOverrides = {},
): AdminPassword {
  const { passwordFile, awsRdsIam, gcpIam } = conn;
  if (passwordFile !== undefined) {
    return { reuseMs: 0, get: async () => (await readFile(passwordFile, "utf8")).replace(/\r?\n$/, "") };
  }
  if (awsRdsIam !== undefined) {
    return cached(async () =>
      rdsAuthToken({ ...endpoint, region: awsRdsIam.region }, overrides.awsCredentials),
    );
  }
  if (gcpIam !== undefined) return cached(overrides.gcpToken ?? googleSqlLoginToken);
  return { reuseMs: 0, get: async () => undefined };
}

function cached(fetchToken: TokenSource): AdminPassword {
  let current: { value: string; at: number } | undefined;
  return {
    reuseMs: IAM_REUSE_MS,
    async get() {
      if (current && Date.now() - current.at < IAM_REUSE_MS) return current.value;
      current = { value: await fetchToken(), at: Date.now() };
      return current.value;
    },
  };
}

/** An RDS IAM auth token for `user` at `host:port` (also what `aws.rdsAuthToken` targets hand out). */
export async function rdsAuthToken(
  e: AdminEndpoint & { region: string },
  credentials?: AdminLoginOverrides["awsCredentials"],
): Promise<string> {
  const { Signer } = await import("@aws-sdk/rds-signer");
  const signer = new Signer({
    hostname: e.host,
    port: e.port,
    username: e.user,
    region: e.region,
    ...(credentials ? { credentials } : {}),
  });
  return signer.getAuthToken();
}

async function googleSqlLoginToken(): Promise<string> {
  const { GoogleAuth } = await import("google-auth-library");
  const auth = new GoogleAuth({ scopes: ["https://www.googleapis.com/auth/sqlservice.login"] });
  const token = await auth.getAccessToken();
  if (!token) throw Object.assign(new Error("no Google access token"), { code: "ECONNREFUSED" });
  return token;
}
