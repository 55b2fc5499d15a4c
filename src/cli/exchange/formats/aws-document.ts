import { CliError } from "../../shared.ts";
import { EXIT } from "../exit-codes.ts";
import { isRecord } from "../is-record.ts";

interface AwsDocument {
  Version: 1;
  AccessKeyId: string;
  SecretAccessKey: string;
  SessionToken?: string;
  Expiration?: string;
}

/** The AWS `credential_process` document the broker put in access_token (CONTRACT §3). */
export function awsDocument(text: string): AwsDocument {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    doc = undefined;
  }
  if (
    !isRecord(doc) ||
    doc.Version !== 1 ||
    typeof doc.AccessKeyId !== "string" ||
    typeof doc.SecretAccessKey !== "string" ||
    (doc.SessionToken !== undefined && typeof doc.SessionToken !== "string") ||
    (doc.Expiration !== undefined && typeof doc.Expiration !== "string")
  ) {
    throw new CliError(
      "exchange: the broker's AWS credentials are not a credential_process document",
      EXIT.refused,
    );
  }
  return doc as unknown as AwsDocument;
}
