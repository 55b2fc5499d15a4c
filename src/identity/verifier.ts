import { BrokerError, badToken } from "../errors.ts";
import { verifySignature } from "../jose/jwa.ts";
import { type Clock, epochSeconds } from "../util/clock.ts";
import { sha256Hex } from "../util/hash.ts";
import { checkRegisteredClaims } from "./claims.ts";
import type { ProviderKeySource } from "./jwks.ts";
import { type ParsedJws, parseCompactJws } from "./jws.ts";
import type { TokenReviewer, Verification, VerifiedIdentity } from "./types.ts";
import { VerifiedTokenCache } from "./verified-cache.ts";

/** One trusted issuer: its keys, algorithm allowlist and accepted audiences. */
export interface Provider {
  name: string;
  issuer: string;
  audiences: readonly string[];
  algorithms: readonly string[];
  keys: ProviderKeySource;
  /** When set, tokens are validated by the cluster's TokenReview instead of the JWKS. */
  tokenReviewer?: TokenReviewer;
}

export interface IdentityVerifierOptions {
  providers: readonly Provider[];
  clock: Clock;
  clockSkew: number;
  /** Bounds a TokenReview call. */
  reviewTimeoutMs?: number;
  /** Verified tokens remembered for repeat presenters (default 10,000; 0 turns the cache off). */
  verifiedTokens?: number;
}

/**
 * The verify stage (fulcio's shape): peek at `iss` only to pick the provider, trust nothing until that
 * provider's key verified the signature, then check the registered claims.
 */
export class IdentityVerifier {
  readonly #byIssuer: Map<string, Provider>;
  readonly #o: IdentityVerifierOptions;
  readonly #verified: VerifiedTokenCache;

  constructor(options: IdentityVerifierOptions) {
    this.#o = options;
    this.#verified = new VerifiedTokenCache(options.verifiedTokens);
    this.#byIssuer = new Map(options.providers.map((p) => [p.issuer, p]));
    if (this.#byIssuer.size !== options.providers.length)
      throw new TypeError("two providers share an issuer");
  }

  get providers(): readonly Provider[] {
    return this.#o.providers;
  }

  /** Verifies `token` or throws the BrokerError that says why. */
  async verify(token: string): Promise<VerifiedIdentity> {
    const v = await this.check(token);
    if (!v.ok) throw v.error;
    return v.identity;
  }

  /**
   * Verifies `token` and reports what was learned either way: on failure, the configured provider the token named
   * (its name and issuer, for audit and metrics of the failure; never token content, never trust).
   */
  async check(token: string): Promise<Verification> {
    let provider: Provider | undefined;
    try {
      const sha256 = sha256Hex(token);
      const cached = this.#verified.get(sha256, this.#o.clock());
      if (cached) {
        provider = cached.provider;
        return { ok: true, identity: this.#identity(provider, cached.payload, sha256) };
      }
      const jws = parseCompactJws(token);
      // Selecting by iss before verification is safe: the key set is then fixed to that provider's JWKS, so a key
      // of provider B can never verify a token naming provider A. An unknown issuer causes no outbound request.
      provider = typeof jws.payload.iss === "string" ? this.#byIssuer.get(jws.payload.iss) : undefined;
      if (!provider) throw badToken("jwt.unknown_issuer", "no provider has this issuer");
      return { ok: true, identity: await this.#verifyWith(provider, jws, token, sha256) };
    } catch (error) {
      return provider
        ? { ok: false, error, provider: { name: provider.name, issuer: provider.issuer } }
        : { ok: false, error };
    }
  }

  async #verifyWith(
    provider: Provider,
    jws: ParsedJws,
    token: string,
    sha256: string,
  ): Promise<VerifiedIdentity> {
    // RFC 8725 §3.1: the algorithm must be on the provider's allowlist (never none or HS*).
    if (!provider.algorithms.includes(jws.header.alg))
      throw badToken("jwt.alg_not_allowed", "alg is not allowed");

    // Rules are taken at the moment of each check: a TokenReview round trip takes time.
    const rules = () => ({
      issuer: provider.issuer,
      audiences: provider.audiences,
      clockSkew: this.#o.clockSkew,
      now: epochSeconds(this.#o.clock),
    });
    if (provider.tokenReviewer) {
      // Cheap local checks first, so an expired or mis-addressed token never costs an API server call.
      checkRegisteredClaims(jws.payload, rules());
      await this.#review(provider, provider.tokenReviewer, token, jws.payload.sub);
    } else {
      const keys = await provider.keys.keysFor(jws.header.kid, jws.header.alg);
      if (!keys.some((key) => verifySignature(jws.header.alg, key, jws.signingInput, jws.signature))) {
        throw badToken("jwt.bad_signature", "signature does not verify");
      }
    }
    const identity = this.#identity(provider, jws.payload, sha256);
    // A TokenReview answer is the API server's view now (a deleted pod's token stops working): never remembered.
    if (!provider.tokenReviewer)
      this.#verified.set(sha256, { provider, payload: jws.payload }, identity.expiresAt, this.#o.clock());
    return identity;
  }

  /** The registered claims (exp, nbf, iat, iss, aud, sub, jti) against the clock now: on every presentation. */
  #identity(
    provider: Provider,
    payload: Readonly<Record<string, unknown>>,
    sha256: string,
  ): VerifiedIdentity {
    const registered = checkRegisteredClaims(payload, {
      issuer: provider.issuer,
      audiences: provider.audiences,
      clockSkew: this.#o.clockSkew,
      now: epochSeconds(this.#o.clock),
    });
    return {
      provider: provider.name,
      issuer: provider.issuer,
      subject: registered.sub,
      claims: payload,
      jti: registered.jti,
      expiresAt: registered.exp,
      tokenSha256: sha256,
    };
  }

  async #review(provider: Provider, reviewer: TokenReviewer, token: string, sub: unknown): Promise<void> {
    let result: Awaited<ReturnType<TokenReviewer["review"]>>;
    try {
      result = await reviewer.review(
        token,
        provider.audiences,
        AbortSignal.timeout(this.#o.reviewTimeoutMs ?? 5000),
      );
    } catch (e) {
      if (e instanceof BrokerError) throw e;
      throw new BrokerError("unavailable", { reason: "tokenreview.unavailable", retryAfter: 5, cause: e });
    }
    if (!result.authenticated)
      throw badToken("jwt.review_rejected", "TokenReview did not authenticate the token");
    // The API server's view of the identity must be the token's own subject.
    if (result.username !== undefined && result.username !== sub) {
      throw badToken("jwt.review_mismatch", "TokenReview user differs from sub");
    }
  }
}
