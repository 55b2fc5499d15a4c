import { badToken } from "../errors.ts";

/** CONTRACT §2: a subject token over 16 KiB is rejected before any parsing. */
export const MAX_TOKEN_BYTES = 16 * 1024;

export interface JwsHeader {
  alg: string;
  kid?: string;
  typ?: string;
  [name: string]: unknown;
}

/** A compact JWS split and decoded, signature NOT yet verified: nothing here may be trusted. */
export interface ParsedJws {
  header: JwsHeader;
  payload: Record<string, unknown>;
  /** The ASCII bytes the signature covers: BASE64URL(header) '.' BASE64URL(payload) (RFC 7515 §5.2). */
  signingInput: Buffer;
  signature: Buffer;
}

const B64URL = /^[A-Za-z0-9_-]*$/;

/**
 * Header parameters that carry or point at key material. Keys come only from the provider's JWKS, so a token
 * that brings its own key is refused outright rather than silently ignored (RFC 8725 §3.10).
 */
const KEY_BEARING_HEADERS = ["jku", "x5u", "jwk", "x5c"] as const;

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** RFC 4648 §3.5: the bits of the last character that encode no byte must be zero. */
function hasCanonicalTail(segment: string): boolean {
  const rest = segment.length % 4;
  if (rest === 0) return true;
  const value = ALPHABET.indexOf(segment.charAt(segment.length - 1));
  return (value & (rest === 2 ? 0b1111 : 0b11)) === 0;
}

function decodeSegment(segment: string, what: string): Buffer {
  // RFC 7515 §2: base64url without padding; Buffer's decoder is lenient, so check the alphabet first.
  if (!B64URL.test(segment) || segment.length % 4 === 1)
    throw badToken("jwt.malformed", `${what} is not base64url`);
  // Canonical encoding only (no stray trailing bits), so one token has exactly one spelling and one audit hash.
  if (!hasCanonicalTail(segment)) throw badToken("jwt.malformed", `${what} is not canonical base64url`);
  return Buffer.from(segment, "base64url");
}

function decodeJsonObject(segment: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(decodeSegment(segment, what).toString("utf8"));
  } catch (e) {
    if (e instanceof SyntaxError) throw badToken("jwt.malformed", `${what} is not JSON`);
    throw e;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw badToken("jwt.malformed", `${what} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

/**
 * Splits a compact JWS (RFC 7515 §7.1). Only the compact form is accepted: JWS JSON serialization and JWE
 * (five segments) are refused, as are unsecured JWTs, unknown `crit` and `b64: false` (RFC 7797).
 */
export function parseCompactJws(token: string, options: { embeddedJwk?: boolean } = {}): ParsedJws {
  if (token.length > MAX_TOKEN_BYTES) throw badToken("jwt.too_large", "token exceeds 16 KiB");
  const parts = token.split(".");
  if (parts.length === 5) throw badToken("jwt.encrypted", "JWE is not accepted");
  if (parts.length !== 3) throw badToken("jwt.malformed", "not a compact JWS");
  const [h, p, s] = parts as [string, string, string];
  if (s.length === 0) throw badToken("jwt.unsigned", "token carries no signature");

  const header = decodeJsonObject(h, "header");
  if (typeof header.alg !== "string") throw badToken("jwt.malformed", "header alg is missing");
  if (header.kid !== undefined && typeof header.kid !== "string")
    throw badToken("jwt.malformed", "header kid is not a string");
  for (const name of KEY_BEARING_HEADERS) {
    // A DPoP proof (RFC 9449 §4.2) is the one JWS that carries its key, as `jwk` and only as `jwk`.
    if (name === "jwk" && options.embeddedJwk) continue;
    if (name in header) throw badToken("jwt.embedded_key", `header ${name} is not accepted`);
  }
  // RFC 7515 §4.1.11: a recipient MUST reject a token whose `crit` lists an extension it does not understand.
  // The broker understands none, so any `crit` is refused — which also refuses `b64: false` (RFC 7797 §6).
  if ("crit" in header) throw badToken("jwt.crit", "header crit lists an unsupported extension");
  if ("b64" in header) throw badToken("jwt.b64", "unencoded payloads are not accepted");
  if ("enc" in header || "zip" in header) throw badToken("jwt.encrypted", "JWE is not accepted");

  const payload = decodeJsonObject(p, "payload");
  return {
    header: header as JwsHeader,
    payload,
    signingInput: Buffer.from(`${h}.${p}`, "ascii"),
    signature: decodeSegment(s, "signature"),
  };
}

/** The `iss` an unverified token names, or undefined; for routing audit and metrics only, never for trust. */
export function peekIssuer(token: string): string | undefined {
  if (token.length > MAX_TOKEN_BYTES) return undefined;
  try {
    const iss = parseCompactJws(token).payload.iss;
    return typeof iss === "string" ? iss : undefined;
  } catch {
    return undefined;
  }
}
