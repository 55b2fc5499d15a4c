import { BrokerError } from "../../errors.ts";
import { JwsWriter } from "../../signing/jws.ts";
import type { Signer } from "../../signing/signer.ts";
import type { Clock } from "../../util/clock.ts";

/**
 * The GitHub App's JWT (https://docs.github.com/apps/creating-github-apps/authenticating-with-a-github-app/generating-a-json-web-token-jwt-for-a-github-app):
 * RS256, `iss` = the App ID, `iat` 60 s in the past (clock drift), `exp` at most 10 minutes ahead. One JWT is
 * reused until a minute before it expires, so a KMS-held App key costs one KMS call per nine minutes.
 */
export const APP_JWT_BACKDATE = 60;
export const APP_JWT_LIFETIME = 600;
const RENEW_BEFORE = 60;

export class AppJwt {
  readonly #appId: string;
  readonly #signer: Signer;
  readonly #clock: Clock;
  #current: { jwt: string; exp: number } | undefined;
  #pending: Promise<string> | undefined;

  constructor(appId: string, signer: Signer, clock: Clock) {
    this.#appId = appId;
    this.#signer = signer;
    this.#clock = clock;
  }

  async get(signal: AbortSignal): Promise<string> {
    const now = Math.floor(this.#clock() / 1000);
    if (this.#current && now < this.#current.exp - RENEW_BEFORE) return this.#current.jwt;
    this.#pending ??= this.#sign(now, signal).finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  /** Forget the cached JWT (GitHub refused it). */
  reset(): void {
    this.#current = undefined;
  }

  async #sign(now: number, signal: AbortSignal): Promise<string> {
    const { alg } = await this.#signer.publicKey(signal);
    if (alg !== "RS256") {
      throw new BrokerError("server_error", {
        reason: "github.app_key_unusable",
        detail: "the GitHub App key must be an RSA key (RS256)",
      });
    }
    const iat = now - APP_JWT_BACKDATE;
    // exp = iat + 600 is 9 minutes from now: inside GitHub's 10-minute bound even if our clock runs a little slow.
    const exp = iat + APP_JWT_LIFETIME;
    const jwt = await new JwsWriter(this.#signer, "RS256", undefined).sign(
      { iat, exp, iss: this.#appId },
      "JWT",
      { signal },
    );
    this.#current = { jwt, exp };
    return jwt;
  }
}
