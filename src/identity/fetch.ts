/**
 * The one outbound HTTP path of the identity stage (discovery and JWKS): bounded in time and size, https only
 * (unless a loopback test issuer opts out), and never redirected to another origin.
 */
export interface FetchLimits {
  timeoutMs: number;
  maxBytes: number;
  maxRedirects: number;
  allowInsecureHttp: boolean;
}

export const DEFAULT_FETCH_LIMITS: FetchLimits = {
  timeoutMs: 5000,
  maxBytes: 512 * 1024,
  maxRedirects: 3,
  allowInsecureHttp: false,
};

export class FetchError extends Error {
  override name = "FetchError";
}

function checkScheme(url: URL, limits: FetchLimits): void {
  if (url.protocol === "https:") return;
  if (url.protocol === "http:" && limits.allowInsecureHttp) return;
  throw new FetchError(`refusing ${url.protocol} URL`);
}

async function readCapped(response: Response, maxBytes: number): Promise<string> {
  const declared = Number(response.headers.get("content-length") ?? "0");
  if (declared > maxBytes) throw new FetchError("response too large");
  if (!response.body) return "";
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of response.body) {
    total += chunk.byteLength;
    if (total > maxBytes) throw new FetchError("response too large");
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** GETs a JSON document. Throws FetchError (never echoing the body) on any failure. */
export async function fetchJson(
  target: string,
  limits: FetchLimits,
  fetchImpl: typeof fetch = fetch,
): Promise<unknown> {
  let url = new URL(target);
  const origin = url.origin;
  const signal = AbortSignal.timeout(limits.timeoutMs);
  for (let hop = 0; ; hop++) {
    checkScheme(url, limits);
    let response: Response;
    try {
      response = await fetchImpl(url, {
        redirect: "manual",
        signal,
        headers: { accept: "application/json" },
      });
    } catch (e) {
      throw new FetchError(signal.aborted ? "timed out" : "connection failed", { cause: e });
    }
    if (response.status >= 300 && response.status < 400) {
      await response.body?.cancel();
      const location = response.headers.get("location");
      if (!location || hop >= limits.maxRedirects) throw new FetchError("too many redirects");
      url = new URL(location, url);
      if (url.origin !== origin) throw new FetchError("redirect to another origin refused");
      continue;
    }
    if (response.status !== 200) {
      await response.body?.cancel();
      throw new FetchError(`HTTP ${response.status}`);
    }
    const text = await readCapped(response, limits.maxBytes);
    try {
      return JSON.parse(text);
    } catch {
      throw new FetchError("response is not JSON");
    }
  }
}
