/**
 * Claim lookup. A key starting with '/' is a JSON Pointer (RFC 6901) into nested claims; any other key is a
 * top-level claim name taken literally (so `kubernetes.io` is one name, not a path). Only own properties are
 * followed: `__proto__` or `constructor` never reach Object.prototype.
 */
export type ClaimPath = readonly string[];

const ARRAY_INDEX = /^(0|[1-9]\d*)$/;

export function parseClaimKey(key: string): ClaimPath {
  if (!key.startsWith("/")) return [key];
  // RFC 6901 §4: ~1 is '/', ~0 is '~', decoded in that order.
  return key
    .slice(1)
    .split("/")
    .map((t) => t.replaceAll("~1", "/").replaceAll("~0", "~"));
}

export function isValidPointer(key: string): boolean {
  return !key.startsWith("/") || !/~[^01]|~$/.test(key);
}

export function lookupClaim(claims: unknown, path: ClaimPath): unknown {
  let node: unknown = claims;
  for (const token of path) {
    if (Array.isArray(node)) {
      if (!ARRAY_INDEX.test(token)) return undefined;
      node = node[Number(token)];
    } else if (typeof node === "object" && node !== null && Object.hasOwn(node, token)) {
      node = (node as Record<string, unknown>)[token];
    } else {
      return undefined;
    }
  }
  return node;
}
