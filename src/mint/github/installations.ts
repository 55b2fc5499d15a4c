import type { Clock } from "../../util/clock.ts";
import type { GithubApi } from "./api.ts";
import type { AppJwt } from "./app-jwt.ts";

/** How long an owner's installation ID is remembered, and how long "the App is not installed there". */
export const INSTALLATION_TTL_MS = 3_600_000;
export const NO_INSTALLATION_TTL_MS = 60_000;
const MAX_OWNERS = 10_000;

/**
 * The App's installation per owner: `GET /orgs/{owner}/installation`, then `GET /users/{owner}/installation`
 * (an owner is an organisation or a user). Cached by lower-cased login (GitHub logins are case-insensitive), with a
 * negative cache so an owner without the App costs two API calls a minute at most.
 */
export class InstallationDirectory {
  readonly #api: GithubApi;
  readonly #appJwt: AppJwt;
  readonly #clock: Clock;
  readonly #cache = new Map<string, { id: number | undefined; until: number }>();

  constructor(api: GithubApi, appJwt: AppJwt, clock: Clock) {
    this.#api = api;
    this.#appJwt = appJwt;
    this.#clock = clock;
  }

  async find(owner: string, signal: AbortSignal): Promise<number | undefined> {
    const key = owner.toLowerCase();
    const cached = this.#cache.get(key);
    if (cached && cached.until > this.#clock()) return cached.id;
    const authorization = `Bearer ${await this.#appJwt.get(signal)}`;
    const encoded = encodeURIComponent(owner);
    let found: unknown;
    for (const kind of ["orgs", "users"]) {
      found = await this.#api.call(
        { method: "GET", path: `/${kind}/${encoded}/installation`, authorization, signal },
        true,
      );
      if (found !== undefined) break;
    }
    const id = (found as { id?: unknown } | undefined)?.id;
    const installation = typeof id === "number" && Number.isSafeInteger(id) && id > 0 ? id : undefined;
    this.#remember(key, installation);
    return installation;
  }

  /** An installation GitHub no longer knows (uninstalled): look it up again next time. */
  forget(owner: string): void {
    this.#cache.delete(owner.toLowerCase());
  }

  #remember(key: string, id: number | undefined): void {
    if (this.#cache.size >= MAX_OWNERS) this.#cache.delete(this.#cache.keys().next().value as string);
    const ttl = id === undefined ? NO_INSTALLATION_TTL_MS : INSTALLATION_TTL_MS;
    this.#cache.set(key, { id, until: this.#clock() + ttl });
  }
}
