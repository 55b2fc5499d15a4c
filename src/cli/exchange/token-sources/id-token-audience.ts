import { CliError } from "../../shared.ts";
import { brokerEndpoint } from "../broker-url.ts";
import { exitFor } from "../exit-codes.ts";
import type { Http } from "../http.ts";
import { isRecord } from "../is-record.ts";

/** The audience platform tokens are requested for: given, or the broker's issuer (RFC 8414 metadata). */
export async function idTokenAudience(given: string | undefined, broker: URL, http: Http): Promise<string> {
  if (given) return given;
  const what = "the broker's metadata";
  const res = await http.send(what, brokerEndpoint(broker, ".well-known/oauth-authorization-server"), {
    headers: { accept: "application/json" },
  });
  const body = await http.json(what, res);
  const issuer = isRecord(body) ? body.issuer : undefined;
  if (!res.ok || typeof issuer !== "string" || !issuer) {
    throw new CliError(
      `exchange: ${what} (HTTP ${res.status}) names no issuer; pass --id-token-audience`,
      exitFor(res.status),
    );
  }
  return issuer;
}
