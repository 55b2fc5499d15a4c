import type { TokenSigner } from "../mint/signer.ts";
import type { PublicJwk } from "./published-key.ts";

/** What `/jwks` and the discovery document read. */
export interface JwksPublisher {
  /**
   * The published set: the same object until the keys change (a rotation, a reload, a KMS key loading), a new one
   * after. Verifiers cache what they derive from a set by its identity (identity/broker-token.ts).
   */
  jwks(): { keys: PublicJwk[] };
  /** Keys shared by other instances (certified mode): re-read before /jwks answers. */
  refresh?(): Promise<void>;
}

/**
 * The broker's signing keys as main.ts wires them, whichever kind the config chose: key files (runtime/key-source.ts,
 * reloaded on change) or KMS keys (signing/key-ring.ts, public keys cached).
 */
export interface BrokerKeys {
  /** The key set `/jwks` publishes now. */
  current(): JwksPublisher;
  signer(): TokenSigner;
  /** For /readyz's body. */
  status(): { ok: boolean } & object;
  /** False keeps /readyz at 503: no key can sign yet (a KMS public key not fetched). */
  ready(): boolean;
  /** Fetches what the keys need once the store exists (KMS public keys, a certified key); key files need nothing. */
  start(): Promise<void>;
  reload(): boolean;
  watch(): void;
  close(): void;
}
