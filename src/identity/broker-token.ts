import { createPublicKey, type KeyObject } from "node:crypto";
import { BrokerError } from "../errors.ts";
import { verifySignature } from "../jose/jwa.ts";
import type { DenyList } from "../revocation/deny-list.ts";
import type { JwksPublisher } from "../signing/broker-keys.ts";
import { type Clock, epochSeconds } from "../util/clock.ts";
import { parseCompactJws } from "./jws.ts";

/** The `typ`s of JWTs the broker signs: RFC 9068 access tokens and Txn-Tokens (draft-ietf-oauth-transaction-tokens §9.1). */
export const BROKER_TOKEN_TYPES = ["at+jwt", "txntoken+jwt"] as const;

export interface BrokerTokenPayload {
  typ: (typeof BROKER_TOKEN_TYPES)[number];
  claims: Readonly<Record<string, unknown>>;
  jti: string;
  exp: number;
}

export type BrokerTokenCheck =
  | { ok: true; token: BrokerTokenPayload }
  /** Why it is not an active broker token; never a claim value. */
  | {
      ok: false;
      reason: "malformed" | "foreign" | "bad_signature" | "expired" | "not_yet_valid" | "revoked";
    };

const isNumber = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

type Jwks = ReturnType<JwksPublisher["jwks"]>;

/**
 * Public keys of one published key set by kid, imported once per set: a publisher returns the same set object until
 * its keys change (JwksPublisher), so this is a cache per key-set version that a rotation invalidates by replacing
 * the set; an old set and its KeyObjects go with the last reference to it.
 */
const publicKeys = new WeakMap<Jwks, Map<string, { alg: string; key: KeyObject }>>();

function keysOf(set: Jwks): Map<string, { alg: string; key: KeyObject }> {
  let keys = publicKeys.get(set);
  if (!keys) {
    keys = new Map();
    for (const jwk of set.keys) {
      const { kid, alg, use: _use, ...material } = jwk;
      if (kid && alg) keys.set(kid, { alg, key: createPublicKey({ key: material, format: "jwk" }) });
    }
    publicKeys.set(set, keys);
  }
  return keys;
}

/**
 * Checks a JWT the broker itself issued: signed by one of its published keys (active, next or retired, with the
 * `alg` that key is published for — RFC 8725 §3.1), `iss` = the broker, not expired, not on the deny-list.
 * Used by /introspect, /revoke and for broker JWTs presented back to /token.
 */
export class BrokerTokenVerifier {
  readonly #keys: () => JwksPublisher;
  readonly #issuer: string;
  readonly #clock: Clock;
  readonly #denyList: DenyList;

  constructor(keys: () => JwksPublisher, issuer: string, clock: Clock, denyList: DenyList) {
    this.#keys = keys;
    this.#issuer = issuer;
    this.#clock = clock;
    this.#denyList = denyList;
  }

  get issuer(): string {
    return this.#issuer;
  }

  /** Signature, issuer and type only: what /revoke needs to know the token is the broker's own. */
  authentic(token: string): BrokerTokenCheck {
    let jws: ReturnType<typeof parseCompactJws>;
    try {
      jws = parseCompactJws(token);
    } catch (e) {
      if (e instanceof BrokerError) return { ok: false, reason: "malformed" };
      throw e;
    }
    const { header, payload } = jws;
    if (payload.iss !== this.#issuer) return { ok: false, reason: "foreign" };
    const typ = BROKER_TOKEN_TYPES.find((t) => t === header.typ);
    if (typ === undefined || header.kid === undefined) return { ok: false, reason: "foreign" };
    const key = keysOf(this.#keys().jwks()).get(header.kid);
    if (!key || key.alg !== header.alg) return { ok: false, reason: "foreign" };
    if (!verifySignature(key.alg, key.key, jws.signingInput, jws.signature))
      return { ok: false, reason: "bad_signature" };
    if (typeof payload.jti !== "string" || !isNumber(payload.exp)) return { ok: false, reason: "malformed" };
    return { ok: true, token: { typ, claims: payload, jti: payload.jti, exp: payload.exp } };
  }

  /** `authentic`, and also unexpired and unrevoked: an active token (RFC 7662 §2.2). Store down → 503. */
  async active(token: string): Promise<BrokerTokenCheck> {
    const check = this.authentic(token);
    if (!check.ok) return check;
    const { claims, exp, jti } = check.token;
    const now = epochSeconds(this.#clock);
    if (now >= exp) return { ok: false, reason: "expired" };
    if (isNumber(claims.nbf) && claims.nbf > now) return { ok: false, reason: "not_yet_valid" };
    if (await this.#denyList.isRevoked(jti)) return { ok: false, reason: "revoked" };
    return check;
  }
}
