import { createHash } from "node:crypto";

/** RFC 7638 §3.2 (RFC 8037 §2 for OKP): the members a key type's thumbprint covers, in lexicographic order. */
const REQUIRED_MEMBERS: Readonly<Record<string, readonly string[]>> = {
  EC: ["crv", "kty", "x", "y"],
  OKP: ["crv", "kty", "x"],
  RSA: ["e", "kty", "n"],
};

/** The required members, in order; undefined for an unknown key type or a required member missing or not a string. */
export function requiredMembers(jwk: Readonly<Record<string, unknown>>): Record<string, string> | undefined {
  const names = typeof jwk.kty === "string" ? REQUIRED_MEMBERS[jwk.kty] : undefined;
  if (names === undefined) return undefined;
  const members: Record<string, string> = {};
  for (const name of names) {
    const value = jwk[name];
    if (typeof value !== "string") return undefined;
    members[name] = value;
  }
  return members;
}

/**
 * RFC 7638 §3.1: the JSON of the required members only, in lexicographic order, without whitespace (§3.3: values
 * verbatim); undefined when they are not all there.
 */
export function thumbprintInput(jwk: Readonly<Record<string, unknown>>): string | undefined {
  const members = requiredMembers(jwk);
  return members && JSON.stringify(members);
}

/** RFC 7638 §3 with SHA-256, synchronously (jose's `calculateJwkThumbprint` is the async WebCrypto equivalent). */
export const thumbprintOf = (input: string): string => createHash("sha256").update(input).digest("base64url");
