import { TOKEN_TYPE } from "../../../mint/types.ts";
import { CliError } from "../../shared.ts";
import { type Issued, sanitize } from "../broker-response.ts";
import { EXIT } from "../exit-codes.ts";

/** Bearer credentials a Kubernetes API server can take; AWS and database documents are not tokens. */
const BEARER_TYPES: readonly string[] = [TOKEN_TYPE.accessToken, TOKEN_TYPE.jwt, TOKEN_TYPE.idToken];

/**
 * `--format kubectl`: a client.authentication.k8s.io/v1 ExecCredential, what a kubeconfig `exec` credential
 * plugin prints (https://kubernetes.io/docs/reference/access-authn-authz/authentication/#input-and-output-formats).
 * `expirationTimestamp` (RFC 3339) makes kubectl and client libraries run the plugin again before it expires.
 */
export function execCredential(issued: Issued, now: number): string {
  if (!BEARER_TYPES.includes(issued.issuedTokenType)) {
    throw new CliError(
      `exchange: --format kubectl needs a bearer token; the broker issued ${sanitize(issued.issuedTokenType, [])}`,
      EXIT.refused,
    );
  }
  const status: Record<string, string> = { token: issued.accessToken };
  if (issued.expiresIn !== undefined) {
    status.expirationTimestamp = new Date(now + issued.expiresIn * 1000)
      .toISOString()
      .replace(/\.\d{3}Z$/, "Z");
  }
  return `${JSON.stringify({ apiVersion: "client.authentication.k8s.io/v1", kind: "ExecCredential", status })}\n`;
}
