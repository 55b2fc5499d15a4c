import { createPublicKey, type KeyObject } from "node:crypto";
import { thumbprintInput, thumbprintOf } from "../jose/thumbprint.ts";

/** A public JWK as `/jwks` publishes it: string members only. */
export type PublicJwk = Record<string, string>;

const PUBLIC_MEMBERS = ["kty", "crv", "x", "y", "n", "e"] as const;

/** The public members of a key (RFC 7517 §4, RFC 7518 §6): never `d` or any other private member. */
export function publicMembers(key: KeyObject): PublicJwk {
  const pub = key.type === "private" ? createPublicKey(key) : key;
  const full = pub.export({ format: "jwk" }) as Record<string, unknown>;
  const out: PublicJwk = {};
  for (const m of PUBLIC_MEMBERS) if (typeof full[m] === "string") out[m] = full[m] as string;
  return out;
}

/** RFC 7638 JWK thumbprint: SHA-256 over the required members in lexicographic order. */
export function jwkThumbprint(key: KeyObject): string {
  return thumbprintOfJwk(publicMembers(key));
}

/** RFC 7638 thumbprint of a complete public JWK (as `publicMembers` exports it). */
export function thumbprintOfJwk(jwk: PublicJwk): string {
  const input = thumbprintInput(jwk);
  if (input === undefined) throw new TypeError("the JWK lacks a member its thumbprint needs");
  return thumbprintOf(input);
}

/** The `/jwks` entry of a key: kid = RFC 7638 thumbprint unless given, `alg`, `use: sig` (RFC 7517 §4.2, §4.4). */
export function publishedJwk(key: KeyObject, alg: string, kid = jwkThumbprint(key)): PublicJwk {
  return { ...publicMembers(key), kid, alg, use: "sig" };
}
