import { BrokerError } from "../errors.ts";
import type { PublicJwk } from "../mint/keys.ts";
import type { TokenSigner } from "../mint/signer.ts";
import type { Logger } from "../observability/log.ts";
import type { Clock } from "../util/clock.ts";
import type { BrokerKeys, JwksPublisher } from "./broker-keys.ts";
import { type Deadline, JwsWriter, NO_DEADLINE, NO_REQUEST_DEADLINE } from "./jws.ts";
import { KmsKeyError } from "./kms-call.ts";
import { publishedJwk } from "./published-key.ts";
import type { PublicKeyInfo, Signer } from "./signer.ts";

export type KeyStatus = "active" | "next" | "retired";

export interface RingEntry {
  signer: Signer;
  status: KeyStatus;
  /** direct: publishes this KMS key and (if active) signs tokens with it; certified: certifies instance keys. */
  mode: "direct" | "certified";
}

/** Signs with a key of its own and publishes what it signs with (certified mode, signing/certified.ts). */
export interface DelegatedSigning {
  /** Starts once the KMS key that certifies is known; resolves when the first key is in use (or `signal` ends). */
  start(kms: LoadedKey, verifiers: () => readonly LoadedKey[], signal: AbortSignal): Promise<void>;
  sign(claims: Record<string, unknown>, typ: string, deadline: Deadline): Promise<string>;
  jwks(): PublicJwk[];
  /** Brings jwks() up to date with what other instances published (cheap when it is recent). */
  refreshIfStale(): Promise<void>;
  ready(): boolean;
  status(): Record<string, unknown>;
  close(): void;
}

export interface LoadedKey {
  signer: Signer;
  info: PublicKeyInfo;
  jwk: PublicJwk;
  writer: JwsWriter;
}

interface Slot extends RingEntry {
  loaded?: LoadedKey;
  lastError?: string;
}

/** How often public keys that could not be fetched are tried again in the background. */
const RELOAD_INTERVAL_MS = 5_000;
/** How long start-up waits for the KMS; the broker starts not ready when it does not answer. */
const STARTUP_WAIT_MS = 5_000;

/**
 * The broker's keys held in a KMS (CONTRACT §12). Public keys are fetched once and cached, so `/jwks` serves from
 * memory whatever the KMS does; the active entry signs (directly, one KMS call per token, or through a certified
 * in-memory key); `next` and `retired` entries are published but never sign. No key is ever generated in place of
 * a KMS key: until the active key's public key is known the broker is not ready and signing answers 503.
 */
export class KmsKeyRing implements TokenSigner, BrokerKeys, JwksPublisher {
  readonly issuer: string;
  readonly #slots: Slot[];
  readonly #active: Slot;
  readonly #delegated: DelegatedSigning | undefined;
  readonly #logger: Logger;
  readonly #clock: Clock;
  #timer: NodeJS.Timeout | undefined;
  #lastSign: { ok: boolean; at: string; error?: string } | undefined;
  #closed = false;
  /** Bumped whenever a direct key loads: the published set's version, with the certified keys' list. */
  #loadedVersion = 0;
  #jwks:
    | { version: number; certified: readonly PublicJwk[] | undefined; set: { keys: PublicJwk[] } }
    | undefined;

  constructor(
    entries: readonly RingEntry[],
    issuer: string,
    logger: Logger,
    clock: Clock,
    delegated?: DelegatedSigning,
  ) {
    const active = entries.filter((e) => e.status === "active");
    if (active.length !== 1) throw new TypeError("a KMS key ring needs exactly one active entry");
    this.#slots = entries.map((e) => ({ ...e }));
    this.#active = this.#slots.find((s) => s.status === "active") as Slot;
    this.issuer = issuer;
    this.#logger = logger;
    this.#clock = clock;
    this.#delegated = delegated;
  }

  /** Fetches every public key it can; keys that fail are retried in the background until they load. */
  async load(signal: AbortSignal = NO_DEADLINE): Promise<void> {
    await Promise.all(this.#slots.map((slot) => this.#load(slot, signal).catch(() => undefined)));
    if (!this.#closed && this.#slots.some((s) => !s.loaded) && this.#timer === undefined) {
      this.#timer = setInterval(() => {
        if (this.#slots.every((s) => s.loaded)) {
          clearInterval(this.#timer);
          return;
        }
        void this.load(AbortSignal.timeout(RELOAD_INTERVAL_MS));
      }, RELOAD_INTERVAL_MS);
      this.#timer.unref();
    }
  }

  async #load(slot: Slot, signal: AbortSignal): Promise<LoadedKey> {
    if (slot.loaded) return slot.loaded;
    try {
      const info = await slot.signer.publicKey(signal);
      if (slot.loaded) return slot.loaded;
      const jwk = publishedJwk(info.key, info.alg);
      slot.loaded = { signer: slot.signer, info, jwk, writer: new JwsWriter(slot.signer, info.alg, jwk.kid) };
      this.#loadedVersion++;
      delete slot.lastError;
      this.#logger.info(
        { key: slot.signer.label, backend: slot.signer.backend, kid: jwk.kid, status: slot.status },
        "KMS public key loaded",
      );
      if (slot === this.#active) await this.#delegated?.start(slot.loaded, () => this.#verifiers(), signal);
      return slot.loaded;
    } catch (e) {
      slot.lastError = describe(e);
      this.#logger.warn({ key: slot.signer.label, error: slot.lastError }, "KMS public key not available");
      throw e instanceof KmsKeyError
        ? new BrokerError("server_error", { reason: "signing.kms.unusable_key", detail: e.message })
        : e;
    }
  }

  #verifiers(): LoadedKey[] {
    return this.#slots.flatMap((s) => (s.loaded ? [s.loaded] : []));
  }

  async sign(
    claims: Record<string, unknown>,
    typ: string,
    deadline: Deadline = NO_REQUEST_DEADLINE,
  ): Promise<string> {
    try {
      const active = this.#active.loaded ?? (await this.#load(this.#active, deadline.signal));
      const token = this.#delegated
        ? await this.#delegated.sign(claims, typ, deadline)
        : await active.writer.sign(claims, typ, deadline);
      this.#lastSign = { ok: true, at: new Date(this.#clock()).toISOString() };
      return token;
    } catch (e) {
      this.#lastSign = { ok: false, at: new Date(this.#clock()).toISOString(), error: describe(e) };
      throw e;
    }
  }

  /**
   * Every loaded direct key (active, next, retired), then the certified keys; a certifying KMS key is not a token
   * key. The same object until the keys change (a direct key loads, or the certified list is replaced), checked in
   * O(1) per call, so verifiers can cache what they derive from it (identity/broker-token.ts).
   */
  jwks(): { keys: PublicJwk[] } {
    const certified = this.#delegated?.jwks();
    const cached = this.#jwks;
    if (cached && cached.version === this.#loadedVersion && cached.certified === certified) return cached.set;
    const direct = this.#slots.flatMap((s) => (s.loaded && s.mode === "direct" ? [s.loaded.jwk] : []));
    const set = { keys: [...direct, ...(certified ?? [])] };
    this.#jwks = { version: this.#loadedVersion, certified, set };
    return set;
  }

  refresh = async (): Promise<void> => {
    await this.#delegated?.refreshIfStale();
  };

  ready(): boolean {
    return this.#active.loaded !== undefined && (this.#delegated?.ready() ?? true);
  }

  status(): Record<string, unknown> & { ok: boolean } {
    return {
      ok: this.ready(),
      source: "kms",
      active: this.#active.loaded?.jwk.kid ?? null,
      published: this.jwks().keys.length,
      keys: this.#slots.map((s) => ({
        key: s.signer.label,
        backend: s.signer.backend,
        status: s.status,
        publicKey: s.loaded ? "loaded" : "unavailable",
        ...(s.loaded ? { kid: s.loaded.jwk.kid, alg: s.loaded.info.alg } : {}),
        ...(s.lastError ? { lastError: s.lastError } : {}),
      })),
      ...(this.#lastSign ? { lastSign: this.#lastSign } : {}),
      ...(this.#delegated ? { certified: this.#delegated.status() } : {}),
    };
  }

  /** Start-up: every public key, and the first certified key, with a bound; the rest continues in the background. */
  start = (): Promise<void> => this.load(AbortSignal.timeout(STARTUP_WAIT_MS));
  current = (): JwksPublisher => this;
  signer = (): TokenSigner => this;
  /** KMS keys are named in the config: nothing to reload (a missing public key is retried in the background). */
  reload = (): boolean => true;
  watch(): void {}

  close(): void {
    this.#closed = true;
    clearInterval(this.#timer);
    this.#delegated?.close();
  }
}

/** A reason code or a fixed message: never an upstream message (KMS errors can quote request details). */
function describe(e: unknown): string {
  if (e instanceof BrokerError) return e.detail ? `${e.reason} (${e.detail})` : e.reason;
  if (e instanceof KmsKeyError) return e.message;
  return "error";
}
