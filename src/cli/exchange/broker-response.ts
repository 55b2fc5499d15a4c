import { TOKEN_TYPE } from "../../mint/types.ts";
import { CliError } from "../shared.ts";
import { withoutControlCharacters } from "./control-characters.ts";
import { EXIT, exitFor } from "./exit-codes.ts";
import type { Format } from "./formats/format.ts";
import { isRecord } from "./is-record.ts";

/** A successful token exchange response, past the edge (camelCase). */
export interface Issued {
  accessToken: string;
  issuedTokenType: string;
  tokenType: string;
  expiresIn: number | undefined;
  scope: string | undefined;
}

/** RFC 8693 §2.2.1: access_token, issued_token_type and token_type are required. */
export function tokenResponse(body: unknown): Issued {
  const b = isRecord(body) ? body : {};
  const { access_token, issued_token_type, token_type, expires_in, scope } = b;
  if (typeof access_token !== "string" || !access_token || typeof issued_token_type !== "string") {
    throw new CliError("exchange: the broker's answer is not a token exchange response", EXIT.refused);
  }
  return {
    accessToken: access_token,
    issuedTokenType: issued_token_type,
    tokenType: typeof token_type === "string" ? token_type : "",
    expiresIn: typeof expires_in === "number" ? expires_in : undefined,
    scope: typeof scope === "string" ? scope : undefined,
  };
}

/** The broker's OAuth error (RFC 6749 §5.2), made safe for a terminal: no token, no control characters. */
export function brokerRefusal(
  res: Response,
  body: unknown,
  secrets: readonly string[],
  format: Format | undefined,
): CliError {
  const b = isRecord(body) ? body : {};
  const clean = (v: unknown) => (typeof v === "string" ? sanitize(v, secrets) : undefined);
  const error = clean(b.error);
  const description = clean(b.error_description);
  const unavailable = exitFor(res.status) === EXIT.unavailable;
  let message = `exchange: the broker ${unavailable ? "is unavailable" : "refused the exchange"} (HTTP ${res.status})`;
  if (error) message += `: ${error}${description ? `: ${description}` : ""}`;
  else {
    const requestId = clean(res.headers.get("x-request-id") ?? undefined);
    message += requestId ? ` (request id ${requestId})` : "";
  }
  const retryAfter = clean(res.headers.get("retry-after") ?? undefined);
  if (retryAfter) message += `; retry after ${retryAfter}s`;
  if (format === "credential-process" && error === "invalid_request") {
    message += `\nnote: --format credential-process requests ${TOKEN_TYPE.awsCredentials}: the audience must name an AWS target`;
  }
  return new CliError(message, unavailable ? EXIT.unavailable : EXIT.refused);
}

/** Broker text for a terminal: at most 500 characters, every known secret redacted, no control characters. */
export function sanitize(text: string, secrets: readonly string[]): string {
  let out = text.slice(0, 500);
  for (const s of secrets) if (s) out = out.split(s).join("[redacted]");
  return withoutControlCharacters(out);
}
