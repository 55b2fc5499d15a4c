import type { Issued } from "../../src/cli/exchange/broker-response.ts";
import { awsDocument } from "../../src/cli/exchange/formats/aws-document.ts";
import {
  type DatabaseEnvFormat,
  databaseDocument,
  databaseEnvVariables,
} from "../../src/cli/exchange/formats/database-document.ts";
import { envVariables } from "../../src/cli/exchange/formats/env-lines.ts";
import { TOKEN_TYPE } from "../../src/mint/types.ts";

/** What the action hands to later steps: step outputs, job environment, and every value the log must mask. */
export interface CredentialOutputs {
  outputs: Record<string, string>;
  env: Record<string, string>;
  secrets: string[];
}

/**
 * Outputs for every credential (`access-token`, `issued-token-type`, `token-type`, `expires-in`, `scope`), plus
 * `aws-*` for AWS credentials. The environment is what the usual client reads, the names of
 * `wif-broker exchange --format env`: AWS_* for the AWS CLI and SDKs, WIF_* otherwise; with `database` (the
 * `pg-env` / `mysql-env` formats) the libpq PG* or the MYSQL_* variables of database credentials instead.
 */
export function credentialOutputs(issued: Issued, database?: DatabaseEnvFormat): CredentialOutputs {
  const outputs: Record<string, string> = {
    "access-token": issued.accessToken,
    "issued-token-type": issued.issuedTokenType,
    "token-type": issued.tokenType,
  };
  if (issued.expiresIn !== undefined) outputs["expires-in"] = String(issued.expiresIn);
  if (issued.scope !== undefined) outputs.scope = issued.scope;
  const secrets = [issued.accessToken];
  let env: Record<string, string>;
  if (database) {
    const doc = databaseDocument(issued.issuedTokenType, issued.accessToken);
    env = Object.fromEntries(databaseEnvVariables(database, doc));
    secrets.push(doc.Password);
  } else {
    env = Object.fromEntries(envVariables(issued).filter((v): v is [string, string] => v[1] !== undefined));
  }
  if (issued.issuedTokenType === TOKEN_TYPE.awsCredentials) {
    const doc = awsDocument(issued.accessToken);
    outputs["aws-access-key-id"] = doc.AccessKeyId;
    outputs["aws-secret-access-key"] = doc.SecretAccessKey;
    if (doc.SessionToken !== undefined) outputs["aws-session-token"] = doc.SessionToken;
    if (doc.Expiration !== undefined) outputs["aws-expiration"] = doc.Expiration;
    // The key id too, as aws-actions/configure-aws-credentials does.
    secrets.push(doc.AccessKeyId, doc.SecretAccessKey, ...(doc.SessionToken ? [doc.SessionToken] : []));
  }
  return { outputs, env, secrets: [...new Set(secrets.filter((s) => s !== ""))] };
}
