import { createHash, randomBytes, randomInt } from "node:crypto";

/**
 * Lease login names and passwords (CONTRACT §8). The name is `wif_` + the policy + a random suffix, within the
 * engine's limit (PostgreSQL NAMEDATALEN − 1 = 63 bytes; MySQL 8 user names at most 32 characters). It is built
 * from lower-case ASCII letters, digits and `_` only, and still always quoted where it is used.
 */
export const NAME_LIMIT = { postgres: 63, mysql: 32 } as const;
const SUFFIX_LENGTH = 12;
const ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";

export function leaseName(policy: string, engine: keyof typeof NAME_LIMIT): string {
  let suffix = "";
  for (let i = 0; i < SUFFIX_LENGTH; i++) suffix += ALPHABET[randomInt(ALPHABET.length)];
  const room = NAME_LIMIT[engine] - "wif_".length - 1 - SUFFIX_LENGTH;
  const middle = policy
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "_")
    .slice(0, room)
    .replace(/_+$/, "");
  return `wif_${middle}_${suffix}`;
}

/** A lease password: 32 bytes from the CSPRNG, base64url (43 characters, no quoting needed anywhere). */
export function leasePassword(): string {
  return randomBytes(32).toString("base64url");
}

/** Could `token` be a lease password? Lets /revoke skip the databases for every other kind of token. */
export const looksLikeLeasePassword = (token: string): boolean => /^[A-Za-z0-9_-]{43}$/.test(token);

/**
 * What the lease row stores instead of the password. A plain SHA-256 is enough: the password carries 256 bits of
 * entropy, so there is nothing to brute-force and no reason for a slow hash.
 */
export const passwordHash = (password: string): string => createHash("sha256").update(password).digest("hex");
