import { isIP } from "node:net";
import { usageError } from "./usage.ts";

/** `--broker`: an http(s) URL without query or fragment, possibly with a path prefix. */
export function parseBrokerUrl(value: string): URL {
  let broker: URL;
  try {
    broker = new URL(value);
  } catch {
    throw usageError("--broker must be a URL such as https://broker.example.com");
  }
  if (broker.protocol !== "https:" && broker.protocol !== "http:")
    throw usageError("--broker must be an http(s) URL");
  if (broker.search || broker.hash) throw usageError("--broker must not carry a query or fragment");
  return broker;
}

/** Is plain http to this host still on this machine? */
export function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, "");
  if (host === "localhost" || host.endsWith(".localhost")) return true;
  if (isIP(host) === 4) return host.startsWith("127.");
  return host === "::1";
}

/** `<broker>/<path>`, keeping a path prefix (`https://host/wif` → `https://host/wif/token`). */
export function brokerEndpoint(broker: URL, path: string): URL {
  const base = broker.href.endsWith("/") ? broker.href : `${broker.href}/`;
  return new URL(path, base);
}
