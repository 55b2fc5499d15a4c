import { CliError } from "../../shared.ts";
import { EXIT, exitFor } from "../exit-codes.ts";
import type { Http } from "../http.ts";
import { compactJws } from "./compact-jws.ts";

/**
 * GCP metadata server: GET …/service-accounts/default/identity?audience=…&format=full with Metadata-Flavor: Google.
 * GCE_METADATA_IP or GCE_METADATA_HOST (host[:port]) overrides the host, as in Google's own libraries.
 */
export async function gcpMetadataToken(audience: string, env: NodeJS.ProcessEnv, http: Http) {
  // gcp-metadata's order: GCE_METADATA_IP, then GCE_METADATA_HOST.
  const host = env.GCE_METADATA_IP || env.GCE_METADATA_HOST || "metadata.google.internal";
  let url: URL;
  try {
    url = new URL(
      "/computeMetadata/v1/instance/service-accounts/default/identity",
      /^https?:\/\//.test(host) ? host : `http://${host}`,
    );
  } catch {
    throw new CliError("exchange: --gcp-metadata: GCE_METADATA_HOST is not a host[:port]", EXIT.usage);
  }
  url.searchParams.set("audience", audience);
  url.searchParams.set("format", "full");
  const what = "the GCP metadata server";
  const res = await http.send(what, url, { headers: { "Metadata-Flavor": "Google" } });
  const text = await http.text(what, res);
  if (!res.ok) throw new CliError(`exchange: ${what} answered HTTP ${res.status}`, exitFor(res.status));
  // A real metadata server always says so; anything else (a captive portal, a proxy) is not one.
  if (res.headers.get("metadata-flavor") !== "Google") {
    throw new CliError(`exchange: ${what} answer lacks "Metadata-Flavor: Google"`, EXIT.refused);
  }
  return compactJws(text.trim(), `the answer of ${what}`, EXIT.refused);
}
