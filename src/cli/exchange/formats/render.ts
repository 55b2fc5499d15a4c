import { TOKEN_TYPE } from "../../../mint/types.ts";
import { CliError } from "../../shared.ts";
import { type Issued, sanitize } from "../broker-response.ts";
import { EXIT } from "../exit-codes.ts";
import { awsDocument } from "./aws-document.ts";
import { databaseDocument, databaseEnvLines, databaseUri } from "./database-document.ts";
import { envLines } from "./env-lines.ts";
import { execCredential } from "./exec-credential.ts";
import type { Format } from "./format.ts";

/** What stdout gets for `--format`; `body` is the broker's response as it came. */
export function render(format: Format, issued: Issued, body: unknown): string {
  switch (format) {
    case "json":
      return `${JSON.stringify(body)}\n`;
    case "token":
      return `${issued.accessToken}\n`;
    case "credential-process":
      if (issued.issuedTokenType !== TOKEN_TYPE.awsCredentials) {
        throw new CliError(
          `exchange: --format credential-process needs AWS credentials; the broker issued ${sanitize(issued.issuedTokenType, [])}`,
          EXIT.refused,
        );
      }
      awsDocument(issued.accessToken);
      return `${issued.accessToken}\n`;
    case "env":
      return envLines(issued);
    case "kubectl":
      return execCredential(issued, Date.now());
    case "pg-env":
    case "mysql-env":
      return databaseEnvLines(format, databaseDocument(issued.issuedTokenType, issued.accessToken));
    case "uri":
      return databaseUri(databaseDocument(issued.issuedTokenType, issued.accessToken));
  }
}
