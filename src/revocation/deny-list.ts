import type { ReplayStore } from "../store/types.ts";

/**
 * Revoked broker-JWT `jti`s (RFC 7009 §2.1: revocation takes effect at once), kept in the shared store until
 * the token's own `exp`, after which no verifier would accept it anyway. Every path that accepts a broker JWT
 * consults it: /introspect (both the caller's bearer and the token asked about) and /token (a broker JWT
 * presented as subject or actor token).
 */
export interface DenyList {
  revoke(jti: string, expiresAt: number): Promise<void>;
  isRevoked(jti: string): Promise<boolean>;
}

const key = (jti: string) => `revoked\0${jti}`;

/** The replay table already is "a key remembered until a time, across instances": the deny-list reuses it. */
export function storeDenyList(store: { readonly replay: ReplayStore }): DenyList {
  return {
    async revoke(jti, expiresAt) {
      // `consume` is false when the jti was already revoked: revoking twice is still a success (RFC 7009 §2.2).
      await store.replay.consume(key(jti), expiresAt);
    },
    isRevoked: (jti) => store.replay.seen(key(jti)),
  };
}
