import type { RunningBroker } from "../../src/main.ts";
import { formBody } from "./broker.ts";

/** A form POST to the broker's app in-process (`app.request()`, no socket). */
export function postForm(
  broker: RunningBroker,
  path: string,
  params: Record<string, string | string[]>,
  headers: Record<string, string> = {},
): Promise<Response> {
  return Promise.resolve(
    broker.app.request(`http://broker.test${path}`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
      body: formBody(params),
    }),
  );
}

export async function jsonOf(res: Response): Promise<Record<string, unknown>> {
  return (await res.json()) as Record<string, unknown>;
}

/** The unverified header and payload of a compact JWS, for assertions. */
export function decodeJwt(token: unknown): {
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
} {
  const [h, p] = String(token).split(".");
  return {
    header: JSON.parse(Buffer.from(h ?? "", "base64url").toString()) as Record<string, unknown>,
    claims: JSON.parse(Buffer.from(p ?? "", "base64url").toString()) as Record<string, unknown>,
  };
}
