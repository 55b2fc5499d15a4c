import { createPublicKey, type JsonWebKey, type KeyObject } from "node:crypto";
import { calculateJwkThumbprint, type JWK } from "jose";
import { BrokerError } from "../errors.ts";
import { JWA, verifySignature } from "../jose/jwa.ts";
import type { Reason } from "../reasons.ts";
import type { ReplayStore } from "../store/types.ts";
import { type Clock, epochSeconds } from "../util/clock.ts";
import { sha256Hex } from "../util/hash.ts";
import type { DpopNonces } from "./dpop-nonce.ts";
import { parseCompactJws } from "./jws.ts";

/** RFC 9449 §4.3 check 11: the proof's `iat` may be this far from now, either way (CONTRACT §9: ±60 s). */
export const DPOP_IAT_WINDOW_SECONDS = 60;
const MAX_JTI_LENGTH = 256;

/** JWK members that only a private (or symmetric) key has: RFC 9449 §4.3 check 7. */
const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];
/** The public members a proof key may carry to be imported; anything else is ignored. */
const PUBLIC_MEMBERS: Record<string, readonly string[]> = {
  EC: ["kty", "crv", "x", "y"],
  RSA: ["kty", "n", "e"],
  OKP: ["kty", "crv", "x"],
};

export interface DpopProof {
  /** RFC 7638 thumbprint of the proof key: the issued token's `cnf.jkt` (RFC 9449 §6.1). */
  jkt: string;
  jti: string;
  iat: number;
}

export interface DpopVerifierOptions {
  /** The token endpoint the proofs are for (`htu`), as advertised in the metadata. */
  tokenEndpoint: string;
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

/**
 * RFC 9449 §4.3: checks a DPoP proof presented to /token. Every failure is `invalid_dpop_proof` (§5: 400), or
 * `use_dpop_nonce` when a server nonce is required and missing or stale (§8). A proof's jti is consumed in the
 * shared store, so a proof replayed to another instance fails as well; a store outage fails closed (503).
 */
export class DpopVerifier {
  readonly #o: DpopVerifierOptions;
  readonly #htu: string;

  constructor(options: DpopVerifierOptions) {
    this.#o = options;
    const htu = normaliseHtu(options.tokenEndpoint);
    if (htu === undefined) throw new TypeError("token endpoint is not a URL");
    this.#htu = htu;
  }

  get algorithms(): readonly string[] {
    return this.#o.algorithms;
  }

  get nonces(): DpopNonces | undefined {
    return this.#o.nonces;
  }

  async verify(header: string, method: string): Promise<DpopProof> {
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
    const key = importPublicKey(members);
    if (!key || !verifySignature(h.alg, key, jws.signingInput, jws.signature))
      throw invalid("dpop.signature", "the proof's signature does not verify with its jwk");
    // Check 3: the required claims, with their types.
    const { jti, htm, htu, iat } = p;
    if (typeof jti !== "string" || jti.length === 0 || jti.length > MAX_JTI_LENGTH)
      throw invalid("dpop.jti", "jti is missing or too long");
    if (typeof iat !== "number" || !Number.isFinite(iat)) throw invalid("dpop.iat", "iat is missing");
    // Check 8: htm is the request's method.
    if (htm !== method) throw invalid("dpop.htm", "htm does not match the request method");
    // Check 9: htu is this endpoint, ignoring query and fragment.
    if (typeof htu !== "string" || normaliseHtu(htu) !== this.#htu)
      throw invalid("dpop.htu", "htu does not match the token endpoint");
    // Check 11: iat within the window (±60 s).
    const now = epochSeconds(this.#o.clock);
    if (Math.abs(now - iat) > DPOP_IAT_WINDOW_SECONDS)
      throw invalid("dpop.iat", "iat is outside the accepted window");
    // Check 10: the server's nonce, when nonces are on.
    if (this.#o.nonces && !(typeof p.nonce === "string" && (await this.#o.nonces.isValid(p.nonce)))) {
      throw new BrokerError("use_dpop_nonce", {
        reason: "dpop.nonce",
        detail: "the proof must carry the nonce of the DPoP-Nonce header",
      });
    }
    const jkt = await calculateJwkThumbprint(publicMembers(members) as JWK, "sha256");
    // §11.1: a proof is single-use. Keyed by key and jti, remembered until it could no longer pass check 11.
    const replayKey = `dpop\0${jkt}\0${sha256Hex(jti)}`;
    if (!(await this.#o.replay.consume(replayKey, Math.max(now, iat) + DPOP_IAT_WINDOW_SECONDS + 1)))
      throw invalid("dpop.replayed", "the proof was already used");
    return { jkt, jti, iat };
  }
}

function publicMembers(jwk: Record<string, unknown>): Record<string, unknown> {
  const names = PUBLIC_MEMBERS[String(jwk.kty)] ?? [];
  return Object.fromEntries(names.filter((n) => jwk[n] !== undefined).map((n) => [n, jwk[n]]));
}

function importPublicKey(jwk: Record<string, unknown>): KeyObject | undefined {
  const members = publicMembers(jwk);
  if (Object.keys(members).length === 0 || !Object.values(members).every((v) => typeof v === "string"))
    return undefined;
  try {
    return createPublicKey({ key: members as JsonWebKey, format: "jwk" });
  } catch {
    return undefined;
  }
}
