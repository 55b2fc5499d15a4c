import type { Context } from "hono";
import type { AppEnv } from "./deps.ts";

/**
 * Every response of the app is made here, with the headers the app's first middleware chose for the request
 * (request id, no-store, nosniff, `Connection: close` during shutdown) as one plain object. @hono/node-server writes
 * a plain header object as it is; hono's `c.header()` would build a WHATWG Headers per request that the adapter
 * then converts back (about 3 % of /token's CPU in `node bench/profile.ts`).
 */
export function respond(
  c: Context<AppEnv>,
  body: string | null,
  status: number,
  headers: Record<string, string> = {},
): Response {
  return new Response(body, { status, headers: { ...c.get("responseHeaders"), ...headers } });
}

export const json = (
  c: Context<AppEnv>,
  value: unknown,
  status = 200,
  headers: Record<string, string> = {},
): Response => respond(c, JSON.stringify(value), status, { "Content-Type": "application/json", ...headers });

/** The headers of every response: RFC 6749 §5.1 / CONTRACT §2, responses carrying tokens or errors are never cached. */
export function baseResponseHeaders(requestId: string, closing: boolean): Record<string, string> {
  const headers: Record<string, string> = {
    "X-Request-Id": requestId,
    "Cache-Control": "no-store",
    Pragma: "no-cache",
    "X-Content-Type-Options": "nosniff",
  };
  // During shutdown, keep-alive clients are told to reconnect (to another instance) after this response.
  if (closing) headers.Connection = "close";
  return headers;
}
