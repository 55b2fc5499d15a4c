import { badToken } from "../errors.ts";

export interface ClaimRules {
  issuer: string;
  audiences: readonly string[];
  /** Seconds of leeway for nbf/iat (CONTRACT §2: at most 60). */
  clockSkew: number;
  /** Epoch seconds. */
  now: number;
}

export interface RegisteredClaims {
  sub: string;
  exp: number;
  jti: string | undefined;
}

const isNumber = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

/**
 * RFC 7519 §4.1 registered claims of a signature-verified payload. Types are checked, never coerced: a string
 * `exp` or a numeric `aud` is refused like an expired token.
 */
export function checkRegisteredClaims(
  payload: Readonly<Record<string, unknown>>,
  rules: ClaimRules,
): RegisteredClaims {
  // §4.1.1: iss compares as an exact string (no trailing-slash or case folding).
  if (payload.iss !== rules.issuer)
    throw badToken("jwt.iss_mismatch", "iss does not equal the provider's issuer");

  // §4.1.4: exp is required by CONTRACT §2 and must be a NumericDate.
  if (payload.exp === undefined) throw badToken("jwt.exp_missing", "exp is required");
  if (!isNumber(payload.exp)) throw badToken("jwt.exp_invalid", "exp is not a number");
  if (rules.now >= payload.exp) throw badToken("jwt.expired", "token has expired");

  // §4.1.5 nbf and §4.1.6 iat, each with the bounded leeway.
  if (payload.nbf !== undefined) {
    if (!isNumber(payload.nbf)) throw badToken("jwt.nbf_invalid", "nbf is not a number");
    if (payload.nbf > rules.now + rules.clockSkew)
      throw badToken("jwt.not_yet_valid", "token is not valid yet");
  }
  if (payload.iat !== undefined) {
    if (!isNumber(payload.iat)) throw badToken("jwt.iat_invalid", "iat is not a number");
    if (payload.iat > rules.now + rules.clockSkew)
      throw badToken("jwt.iat_future", "token was issued in the future");
  }

  // §4.1.3: aud is a string or an array of strings; one of them must be an accepted audience, exactly.
  const aud = payload.aud;
  const auds = typeof aud === "string" ? [aud] : aud;
  if (!Array.isArray(auds) || auds.length === 0 || !auds.every((a) => typeof a === "string")) {
    throw badToken("jwt.aud_invalid", "aud is not a string or array of strings");
  }
  if (!auds.some((a) => rules.audiences.includes(a)))
    throw badToken("jwt.aud_mismatch", "aud is not accepted");

  if (typeof payload.sub !== "string" || payload.sub.length === 0)
    throw badToken("jwt.sub_invalid", "sub is missing");
  if (payload.jti !== undefined && typeof payload.jti !== "string")
    throw badToken("jwt.jti_invalid", "jti is not a string");

  return { sub: payload.sub, exp: payload.exp, jti: payload.jti };
}
