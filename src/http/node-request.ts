import type { Context } from "hono";

/** What @hono/node-server puts in `c.env`: the Node request, when there is a socket (not in app.request()). */
interface NodeBindings {
  incoming?: { headers?: Record<string, string | string[] | undefined>; socket?: { remoteAddress?: string } };
}

const incoming = (c: Context) => (c.env as NodeBindings | undefined)?.incoming;

/**
 * A request header, read from Node's already-parsed headers when available: building a WHATWG Headers object
 * for the adapter's Request costs more than the rest of the form parsing.
 */
export function requestHeader(c: Context, name: string): string | undefined {
  const headers = incoming(c)?.headers;
  if (!headers) return c.req.header(name);
  const v = headers[name];
  return Array.isArray(v) ? v.join(", ") : v;
}

export const socketAddress = (c: Context): string | undefined => incoming(c)?.socket?.remoteAddress;
