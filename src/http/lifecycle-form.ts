import type { Context } from "hono";
import { BrokerError } from "../errors.ts";
import type { Reason } from "../reasons.ts";
import type { AppEnv } from "./deps.ts";
import { Form, isFormContentType, readBodyCapped } from "./form.ts";
import { requestHeader } from "./node-request.ts";
import { toWireError } from "./oauth-error.ts";
import { json } from "./respond.ts";

/** CONTRACT §2: tokens are bounded at 16 KiB wherever they are a parameter. */
const MAX_TOKEN_PARAMETER = 16 * 1024;

/**
 * The form of /introspect and /revoke (RFC 7662 §2.1, RFC 7009 §2.1): form-urlencoded, `token` required,
 * `token_type_hint` optional. Whitespace around the token is ignored, as on /token.
 */
export async function readTokenForm(
  c: Context<AppEnv>,
): Promise<{ token: string; hint: string | undefined }> {
  if (!isFormContentType(requestHeader(c, "content-type"))) {
    throw new BrokerError("invalid_request", {
      reason: "request.content_type",
      detail: "content type is not form-urlencoded",
    });
  }
  const form = new Form(await readBodyCapped(c.req.raw, requestHeader(c, "content-length")));
  const token = form.required("token").trim();
  if (token === "") {
    throw new BrokerError("invalid_request", {
      reason: "request.missing_parameter",
      detail: "parameter token is missing",
    });
  }
  if (token.length > MAX_TOKEN_PARAMETER) {
    throw new BrokerError("invalid_request", {
      reason: "request.parameter_too_long",
      detail: "token exceeds 16 KiB",
    });
  }
  return { token, hint: form.one("token_type_hint") };
}

/** The OAuth error response of a lifecycle route (RFC 6749 §5.2 shape), from the one error mapper. */
export function lifecycleError(
  c: Context<AppEnv>,
  e: unknown,
  verbose: boolean,
): { response: Response; status: number; reason: Reason } {
  const requestId = c.get("requestId");
  const wire = toWireError(e, undefined, requestId, verbose);
  const headers: Record<string, string> =
    wire.retryAfter === undefined ? {} : { "Retry-After": String(wire.retryAfter) };
  return {
    status: wire.status,
    reason: e instanceof BrokerError ? e.reason : "internal",
    response: json(c, { error: wire.error, error_description: wire.description }, wire.status, headers),
  };
}
