/**
 * The GitHub REST API calls the broker makes, over plain fetch (three endpoints; see README "Dependencies and why").
 * `apiUrl` may carry a path (GitHub Enterprise Server `https://ghe.example.com/api/v3`), kept on every call.
 * Failures throw GithubHttpError, whose shape (`status`, `headers`) upstream/errors.ts classifies; a rate limit
 * (403/429 with `x-ratelimit-remaining: 0` or `retry-after`) is reported as 429 with the seconds until it lifts.
 * Never a response body in an error: GitHub messages can quote the request.
 */

export class GithubHttpError extends Error {
  override name = "GithubHttpError";
  readonly status: number;
  readonly headers: Headers;
  constructor(status: number, headers: Headers) {
    super(`GitHub answered HTTP ${status}`);
    this.status = status;
    this.headers = headers;
  }
}

export interface GithubRequest {
  method: "GET" | "POST" | "DELETE";
  /** Starts with `/`; path segments already encoded. */
  path: string;
  /** `Bearer <App JWT>` or `Bearer <installation token>`. */
  authorization: string;
  body?: unknown;
  signal: AbortSignal;
}

/** GitHub REST API version the broker speaks (https://docs.github.com/rest/about-the-rest-api/api-versions). */
const API_VERSION = "2022-11-28";

export class GithubApi {
  readonly #base: string;
  readonly #fetch: typeof fetch;
  readonly #clock: () => number;

  constructor(apiUrl: string, clock: () => number, fetchImpl: typeof fetch = fetch) {
    this.#base = apiUrl.replace(/\/+$/, "");
    this.#fetch = fetchImpl;
    this.#clock = clock;
  }

  /** The parsed JSON body of a 2xx answer (undefined for 204); 404 → undefined when `notFoundIsEmpty`. */
  async call(req: GithubRequest, notFoundIsEmpty = false): Promise<unknown> {
    const res = await this.#fetch(`${this.#base}${req.path}`, {
      method: req.method,
      headers: {
        accept: "application/vnd.github+json",
        authorization: req.authorization,
        "user-agent": "wif-broker",
        "x-github-api-version": API_VERSION,
        ...(req.body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(req.body === undefined ? {} : { body: JSON.stringify(req.body) }),
      signal: req.signal,
      redirect: "error",
    });
    if (res.status === 404 && notFoundIsEmpty) {
      await res.body?.cancel();
      return undefined;
    }
    if (res.status < 200 || res.status > 299) {
      await res.body?.cancel();
      throw this.#failure(res);
    }
    if (res.status === 204) return undefined;
    return res.json();
  }

  #failure(res: Response): GithubHttpError {
    if (res.status === 403 || res.status === 429) {
      const wait = rateLimitWait(res.headers, this.#clock());
      if (wait !== undefined) return new GithubHttpError(429, new Headers({ "retry-after": String(wait) }));
    }
    return new GithubHttpError(res.status, res.headers);
  }
}

/**
 * Seconds until a GitHub rate limit lifts, or undefined when the answer is no rate limit
 * (https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api): a secondary limit says
 * `retry-after`; the primary one `x-ratelimit-remaining: 0` and `x-ratelimit-reset` (epoch seconds).
 */
export function rateLimitWait(headers: Headers, nowMs: number): number | undefined {
  const retryAfter = headers.get("retry-after");
  if (retryAfter !== null && /^\d{1,6}$/.test(retryAfter.trim()))
    return Math.max(1, Number(retryAfter.trim()));
  if (headers.get("x-ratelimit-remaining") !== "0") return undefined;
  const reset = Number(headers.get("x-ratelimit-reset"));
  return Number.isFinite(reset) ? Math.max(1, Math.ceil(reset - nowMs / 1000)) : 60;
}
