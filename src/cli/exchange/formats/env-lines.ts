import { TOKEN_TYPE } from "../../../mint/types.ts";
import type { Issued } from "../broker-response.ts";
import { awsDocument } from "./aws-document.ts";
import { shellQuote } from "./shell-quote.ts";

/** `--format env`: shell export lines, AWS_* for AWS credentials, else WIF_*. */
export function envLines(issued: Issued): string {
  return envVariables(issued)
    .filter((v): v is [string, string] => v[1] !== undefined)
    .map(([name, value]) => `export ${name}=${shellQuote(value)}\n`)
    .join("");
}

export function envVariables(issued: Issued): Array<[string, string | undefined]> {
  if (issued.issuedTokenType === TOKEN_TYPE.awsCredentials) {
    const doc = awsDocument(issued.accessToken);
    // The names the AWS CLI and SDKs read from the environment (AWS_CREDENTIAL_EXPIRATION included).
    return [
      ["AWS_ACCESS_KEY_ID", doc.AccessKeyId],
      ["AWS_SECRET_ACCESS_KEY", doc.SecretAccessKey],
      ["AWS_SESSION_TOKEN", doc.SessionToken],
      ["AWS_CREDENTIAL_EXPIRATION", doc.Expiration],
    ];
  }
  const expiresAt =
    issued.expiresIn === undefined ? undefined : new Date(Date.now() + issued.expiresIn * 1000).toISOString();
  return [
    ["WIF_ACCESS_TOKEN", issued.accessToken],
    ["WIF_TOKEN_TYPE", issued.tokenType],
    ["WIF_ISSUED_TOKEN_TYPE", issued.issuedTokenType],
    ["WIF_EXPIRES_IN", issued.expiresIn === undefined ? undefined : String(issued.expiresIn)],
    ["WIF_EXPIRES_AT", expiresAt],
    ["WIF_SCOPE", issued.scope],
  ];
}
