import { randomBytes } from "node:crypto";
import type { ReplayStore } from "../store/types.ts";
import { type Clock, epochSeconds } from "../util/clock.ts";

/** A new nonce every minute; each stays valid for five, so a client's next proof is never refused for age alone. */
const ROTATE_SECONDS = 60;
const VALID_SECONDS = 300;

const key = (nonce: string) => `dpop-nonce\0${nonce}`;

/**
 * Server-provided DPoP nonces (RFC 9449 §8). Each instance mints its own random nonce, records it in the shared
 * store and rotates it every minute; a nonce minted by any instance is valid on every instance for five minutes,
 * so a client behind a load balancer is not bounced between nonces. One store write per instance per minute.
 */
export class DpopNonces {
  readonly #replay: ReplayStore;
  readonly #clock: Clock;
  #current: { nonce: string; until: number; validUntil: number } | undefined;
  #pending: Promise<string> | undefined;

  constructor(replay: ReplayStore, clock: Clock) {
    this.#replay = replay;
    this.#clock = clock;
  }

  /** The nonce to send in `DPoP-Nonce` (store down → 503). */
  current(): Promise<string> {
    const now = epochSeconds(this.#clock);
    if (this.#current && now < this.#current.until) return Promise.resolve(this.#current.nonce);
    this.#pending ??= this.#rotate(now).finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  async isValid(nonce: string): Promise<boolean> {
    if (nonce.length === 0 || nonce.length > 64) return false;
    const now = epochSeconds(this.#clock);
    if (this.#current && nonce === this.#current.nonce && now < this.#current.validUntil) return true;
    return this.#replay.seen(key(nonce));
  }

  async #rotate(now: number): Promise<string> {
    const nonce = randomBytes(18).toString("base64url");
    await this.#replay.consume(key(nonce), now + VALID_SECONDS);
    this.#current = { nonce, until: now + ROTATE_SECONDS, validUntil: now + VALID_SECONDS };
    return nonce;
  }
}
