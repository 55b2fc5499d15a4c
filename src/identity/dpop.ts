import { createHash } from "node:crypto";
import { BrokerError } from "../errors.ts";
import { JWA, verifySignature } from "../jose/jwa.ts";
import type { Reason } from "../reasons.ts";
import type { ReplayStore } from "../store/types.ts";
import { type Clock, epochSeconds } from "../util/clock.ts";
import { sha256Hex } from "../util/hash.ts";
import { PRIVATE_MEMBERS, ProofKeyCache } from "./dpop-key.ts";
import type { DpopNonces } from "./dpop-nonce.ts";
import { parseCompactJws } from "./jws.ts";

/** RFC 9449 §4.3 check 11: the proof's `iat` may be this far from now, either way (CONTRACT §9: ±60 s). */
export const DPOP_IAT_WINDOW_SECONDS = 60;
const MAX_JTI_LENGTH = 256;

export interface DpopProof {
  /** RFC 7638 thumbprint of the proof key: the issued token's `cnf.jkt` (RFC 9449 §6.1). */
  jkt: string;
  jti: string;
  iat: number;
}

/** A proof presented with an access token (`Authorization: DPoP`, RFC 9449 §7.1), to the introspection endpoint. */
export interface AccessTokenUse {
  method: string;
  accessToken: string;
  /** The `cnf.jkt` the access token is bound to (RFC 9449 §6.1). */
  boundJkt: string;
}

export interface DpopVerifierOptions {
  /** The token endpoint the proofs are for (`htu`), as advertised in the metadata. */
  tokenEndpoint: string;
  /** The introspection endpoint, where a DPoP-bound access token authenticates the caller (RFC 9449 §7.1). */
  introspectionEndpoint?: string | undefined;
  algorithms: readonly string[];
  clock: Clock;
  /** Remembers proof jtis across instances (RFC 9449 §11.1). */
  replay: ReplayStore;
  /** Server-provided nonces (RFC 9449 §8), when configured. */
  nonces?: DpopNonces | undefined;
}

const invalid = (reason: Reason, detail: string) => new BrokerError("invalid_dpop_proof", { reason, detail });

/** RFC 9449 §4.3 check 9 compares URIs without query and fragment, after syntax-based normalisation (RFC 3986 §6.2.2). */
function normaliseHtu(value: string): string | undefined {
  if (!URL.canParse(value)) return undefined;
  const url = new URL(value);
  url.search = "";
  url.hash = "";
  return url.href;
}

/** RFC 9449 §4.2 `ath`: base64url of the SHA-256 of the access token's ASCII octets. */
export const accessTokenHash = (token: string): string =>
  createHash("sha256").update(token, "ascii").digest("base64url");

/** Where a proof is presented: the endpoint's normalised URI, and the access token it comes with (if any). */
interface Presentation {
  method: string;
  htu: string;
  access?: AccessTokenUse;
}

/**
 * RFC 9449 §4.3: checks a DPoP proof presented to /token (or, with an access token, to /introspect). Every failure
 * is `invalid_dpop_proof` (§5: 400; §7.1: 401 at /introspect), or `use_dpop_nonce` when a server nonce is required
 * and missing or stale (§8, §9). A proof's jti is consumed in the shared store, so a proof replayed to another
 * instance fails as well; a store outage fails closed (503). Synchronous node:crypto throughout, and the proof
 * key is imported once per key, not once per proof.
 */
export class DpopVerifier {
  readonly #o: DpopVerifierOptions;
  readonly #tokenHtu: string;
  readonly #introspectionHtu: string | undefined;
  readonly #keys = new ProofKeyCache();

  constructor(options: DpopVerifierOptions) {
    this.#o = options;
    const htu = normaliseHtu(options.tokenEndpoint);
    if (htu === undefined) throw new TypeError("token endpoint is not a URL");
    this.#tokenHtu = htu;
    if (options.introspectionEndpoint !== undefined) {
      this.#introspectionHtu = normaliseHtu(options.introspectionEndpoint);
      if (this.#introspectionHtu === undefined) throw new TypeError("introspection endpoint is not a URL");
    }
  }

  get algorithms(): readonly string[] {
    return this.#o.algorithms;
  }

  get nonces(): DpopNonces | undefined {
    return this.#o.nonces;
  }

  /** A proof sent to the token endpoint, which binds the token to be issued (RFC 9449 §5). */
  verify(header: string, method: string): Promise<DpopProof> {
    return this.#check(header, { method, htu: this.#tokenHtu });
  }

  /** A proof sent to /introspect with the DPoP-bound access token that authenticates the caller (§7.1). */
  verifyWithAccessToken(header: string, access: AccessTokenUse): Promise<DpopProof> {
    if (this.#introspectionHtu === undefined) throw new TypeError("no introspection endpoint configured");
    return this.#check(header, { method: access.method, htu: this.#introspectionHtu, access });
  }

  async #check(header: string, at: Presentation): Promise<DpopProof> {
    // Check 1: exactly one DPoP header. Repeated headers arrive joined with ", " and a JWS has neither.
    if (/[\s,]/.test(header))
      throw invalid("dpop.malformed", "exactly one DPoP header with one JWT is allowed");
    // Check 2: a well-formed JWS whose only key-bearing header is `jwk`.
    let jws: ReturnType<typeof parseCompactJws>;
    try {
      jws = parseCompactJws(header, { embeddedJwk: true });
    } catch (e) {
      if (e instanceof BrokerError) throw invalid("dpop.malformed", "the proof is not a compact JWS");
      throw e;
    }
    const { header: h, payload: p } = jws;
    // Check 4: typ dpop+jwt (an access token or ID token cannot pass for a proof).
    if (h.typ !== "dpop+jwt") throw invalid("dpop.typ", "typ is not dpop+jwt");
    // Check 5: an allowed asymmetric algorithm.
    if (!this.#o.algorithms.includes(h.alg) || JWA[h.alg] === undefined)
      throw invalid("dpop.alg", "alg is not allowed for DPoP proofs");
    // Checks 6 and 7: the signature verifies with the embedded key, which is a public key.
    const jwk = h.jwk;
    if (typeof jwk !== "object" || jwk === null || Array.isArray(jwk))
      throw invalid("dpop.jwk", "jwk header is missing");
    const members = jwk as Record<string, unknown>;
    if (PRIVATE_MEMBERS.some((m) => m in members))
      throw invalid("dpop.jwk_private", "jwk holds a private key");
    const key = this.#keys.resolve(members);
    if (!key || !verifySignature(h.alg, key.key, jws.signingInput, jws.signature))
      throw invalid("dpop.signature", "the proof's signature does not verify with its jwk");
    // Check 3: the required claims, with their types.
    const { jti, htm, htu, iat } = p;
    if (typeof jti !== "string" || jti.length === 0 || jti.length > MAX_JTI_LENGTH)
      throw invalid("dpop.jti", "jti is missing or too long");
    if (typeof iat !== "number" || !Number.isFinite(iat)) throw invalid("dpop.iat", "iat is missing");
    // Check 8: htm is the request's method.
    if (htm !== at.method) throw invalid("dpop.htm", "htm does not match the request method");
    // Check 9: htu is this endpoint, ignoring query and fragment (the common exact spelling needs no parse).
    if (typeof htu !== "string" || (htu !== at.htu && normaliseHtu(htu) !== at.htu))
      throw invalid("dpop.htu", "htu does not match the endpoint the proof was sent to");
    // Check 11: iat within the window (±60 s).
    const now = epochSeconds(this.#o.clock);
    if (Math.abs(now - iat) > DPOP_IAT_WINDOW_SECONDS)
      throw invalid("dpop.iat", "iat is outside the accepted window");
    // Check 12: with an access token, `ath` is its hash and the token is bound to this proof's key.
    if (at.access) {
      if (p.ath !== accessTokenHash(at.access.accessToken))
        throw invalid("dpop.ath", "ath is not the hash of the access token presented");
      if (key.jkt !== at.access.boundJkt)
        throw invalid("dpop.key_mismatch", "the access token is bound to another key than the proof's");
    }
    // Check 10: the server's nonce, when nonces are on.
    if (this.#o.nonces && !(typeof p.nonce === "string" && (await this.#o.nonces.isValid(p.nonce)))) {
      throw new BrokerError("use_dpop_nonce", {
        reason: "dpop.nonce",
        detail: "the proof must carry the nonce of the DPoP-Nonce header",
      });
    }
    // §11.1: a proof is single-use. Keyed by key and jti, remembered until it could no longer pass check 11.
    const replayKey = `dpop\0${key.jkt}\0${sha256Hex(jti)}`;
    if (!(await this.#o.replay.consume(replayKey, Math.max(now, iat) + DPOP_IAT_WINDOW_SECONDS + 1)))
      throw invalid("dpop.replayed", "the proof was already used");
    return { jkt: key.jkt, jti, iat };
  }
}
