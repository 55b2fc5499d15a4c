import type { SigningAlgorithm } from "../config/schema.ts";
import { SigningKeySet } from "../mint/keys.ts";
import type { TokenSigner } from "../mint/signer.ts";
import type { Logger } from "../observability/log.ts";
import type { BrokerKeys } from "../signing/broker-keys.ts";
import type { Clock } from "../util/clock.ts";
import { ephemeralSigningKey, loadSigningKeys } from "./signing-keys.ts";
import { type PathWatch, watchPath } from "./watch-path.ts";

export interface KeySourceStatus {
  ok: boolean;
  active: string;
  published: number;
  lastReload?: string;
  lastError?: string;
}

/**
 * The broker's signing keys, reloaded on change of `signing.keysDir` and on SIGHUP. Like policies, a new set
 * replaces the old one only when every file loads, so a half-written key file never stops signing.
 */
export class KeySource implements BrokerKeys {
  #set: SigningKeySet;
  #status: Omit<KeySourceStatus, "active" | "published">;
  #watch: PathWatch | undefined;
  readonly #dir: string | undefined;
  readonly #alg: SigningAlgorithm;
  readonly #issuer: string;
  readonly #clock: Clock;
  readonly #logger: Logger;

  constructor(dir: string | undefined, alg: SigningAlgorithm, issuer: string, clock: Clock, logger: Logger) {
    this.#dir = dir;
    this.#alg = alg;
    this.#issuer = issuer;
    this.#clock = clock;
    this.#logger = logger;
    if (dir === undefined) {
      logger.warn(
        { algorithm: alg },
        "no signing.keysDir: using an ephemeral key; issued tokens stop verifying on restart",
      );
      this.#set = new SigningKeySet([ephemeralSigningKey(alg)], issuer, clock);
    } else {
      this.#set = new SigningKeySet(loadSigningKeys(dir, alg), issuer, clock);
    }
    this.#status = { ok: true, lastReload: new Date(clock()).toISOString() };
  }

  current = (): SigningKeySet => this.#set;

  /** A TokenSigner that always signs with the currently active key of the current set. */
  signer(): TokenSigner {
    return { issuer: this.#issuer, sign: (claims, typ, deadline) => this.#set.sign(claims, typ, deadline) };
  }

  start = (): Promise<void> => Promise.resolve();

  /** Some key set is always loaded (a rejected reload keeps the previous one). */
  ready = (): boolean => true;

  status(): KeySourceStatus {
    return { ...this.#status, active: this.#set.active().kid, published: this.#set.size };
  }

  reload(): boolean {
    if (this.#dir === undefined) return true;
    try {
      this.#set = new SigningKeySet(loadSigningKeys(this.#dir, this.#alg), this.#issuer, this.#clock);
      this.#status = { ok: true, lastReload: new Date(this.#clock()).toISOString() };
      this.#logger.info({ active: this.#set.active().kid, published: this.#set.size }, "signing keys loaded");
      return true;
    } catch (e) {
      // Keep signing with the last good set; the error names the file, never key material.
      this.#status = {
        ...this.#status,
        ok: false,
        lastError: e instanceof Error ? e.message : "cannot load keys",
      };
      this.#logger.error({ err: e }, "signing keys rejected; the previous keys stay active");
      return false;
    }
  }

  /** Reloads on change (debounced), so an editor's save or a ConfigMap/Secret update takes effect. */
  watch(debounceMs = 250): void {
    if (this.#dir === undefined) return;
    this.#watch = watchPath(
      this.#dir,
      "keys directory",
      { recursive: false, debounceMs },
      () => this.reload(),
      this.#logger,
    );
  }

  close(): void {
    this.#watch?.close();
  }
}
