import { createPublicKey, type KeyObject } from "node:crypto";
import type { SigningAlgorithm } from "../config/schema.ts";
import { BrokerError } from "../errors.ts";
import { parseCompactJws } from "../identity/jws.ts";
import { keyFitsAlgorithm, verifySignature } from "../jose/jwa.ts";
import type { Logger } from "../observability/log.ts";
import { generatePrivateKey } from "../runtime/signing-keys.ts";
import type { CertifiedKeyDirectory } from "../store/types.ts";
import type { Clock } from "../util/clock.ts";
import { type Deadline, JwsWriter } from "./jws.ts";
import { keyObjectSigner } from "./key-object.ts";
import type { DelegatedSigning, LoadedKey } from "./key-ring.ts";
import { type PublicJwk, publicMembers, thumbprintOfJwk } from "./published-key.ts";

/**
 * `mode: certified` (CONTRACT §12): each instance signs tokens with a key generated in memory at start and never
 * stored; the KMS signs, once, a statement of that key's public part and validity; instances share the statements
 * through the store; `/jwks` publishes only keys whose statement verifies with a configured KMS key, so a store an
 * attacker can write to cannot add a key. One KMS call per key lifetime instead of one per token.
 *
 * The statement is a compact JWS by the KMS key: header `{alg, kid, typ: "wif-broker-key+jwt"}`, payload
 * `{iss, sub: <kid>, jwk, iat, nbf, exp}`. An instance signs with a key for the first half of its statement's
 * lifetime and then certifies a fresh one, so every token it signed expires (≤ limits.maxTtl, checked at start-up)
 * while its key is still published.
 */
export const STATEMENT_TYP = "wif-broker-key+jwt";

export interface CertifiedSigningOptions {
  issuer: string;
  alg: SigningAlgorithm;
  /** Seconds a statement holds. */
  keyLifetime: number;
  directory: CertifiedKeyDirectory;
  clock: Clock;
  logger: Logger;
  /** How often the shared statements are re-read (ms). */
  refreshMs?: number;
  /** Deadline of one background certification attempt (ms). */
  certifyTimeoutMs?: number;
}

interface InstanceKey {
  kid: string;
  writer: JwsWriter;
  jwk: PublicJwk;
  /** Epoch ms until which this instance signs with it. */
  signUntil: number;
  /** Epoch ms the statement expires. */
  expires: number;
}

const CLOCK_SKEW_S = 60;

interface VerifiedKey {
  jwk: PublicJwk;
  /** Epoch seconds the statement expires. */
  exp: number;
}

export class CertifiedSigning implements DelegatedSigning {
  readonly #o: Required<CertifiedSigningOptions>;
  #kms: LoadedKey | undefined;
  #verifiers: () => readonly LoadedKey[] = () => [];
  #current: InstanceKey | undefined;
  /** Own statements (the current key's and the previous one's while valid), verified like everyone else's. */
  readonly #own = new Map<string, string>();
  #published: PublicJwk[] = [];
  #verifiedKeys = new Map<string, VerifiedKey>();
  #certifying: Promise<InstanceKey> | undefined;
  #rejected = 0;
  #lastRefresh = 0;
  #refreshing: Promise<void> | undefined;
  #lastError: string | undefined;
  readonly #timers: NodeJS.Timeout[] = [];
  #closed = false;

  constructor(options: CertifiedSigningOptions) {
    this.#o = { refreshMs: 5_000, certifyTimeoutMs: 5_000, ...options };
  }

  async start(kms: LoadedKey, verifiers: () => readonly LoadedKey[], signal: AbortSignal): Promise<void> {
    this.#kms = kms;
    this.#verifiers = verifiers;
    const refresh = setInterval(() => void this.refresh(), this.#o.refreshMs);
    refresh.unref();
    this.#timers.push(refresh);
    // Not certified yet (KMS or store down): the first signing request tries again, within its own deadline.
    await this.#ensure({ signal }).catch(() => undefined);
  }

  async sign(claims: Record<string, unknown>, typ: string, deadline: Deadline): Promise<string> {
    const key = await this.#ensure(deadline);
    return key.writer.sign(claims, typ, deadline);
  }

  /** The current key, certifying (and publishing) one first when there is none or it is due for renewal. */
  async #ensure(deadline: Deadline): Promise<InstanceKey> {
    const now = this.#o.clock();
    const current = this.#current;
    if (current && now < current.signUntil) return current;
    this.#certifying ??= this.#certify(deadline.signal).finally(() => {
      this.#certifying = undefined;
    });
    // Renewal failing is not an outage yet: the current key still has half its statement left.
    if (current && now < current.expires - this.#o.keyLifetime * 500) {
      return this.#certifying.catch(() => current);
    }
    return this.#certifying;
  }

  async #certify(signal: AbortSignal): Promise<InstanceKey> {
    const kms = this.#kms;
    if (!kms) throw new BrokerError("unavailable", { reason: "signing.kms.unavailable", retryAfter: 5 });
    const privateKey = generatePrivateKey(this.#o.alg);
    const jwk = publicMembers(privateKey);
    const kid = thumbprintOfJwk(jwk);
    const published: PublicJwk = { ...jwk, kid, alg: this.#o.alg, use: "sig" };
    const iat = Math.floor(this.#o.clock() / 1000);
    const exp = iat + this.#o.keyLifetime;
    try {
      const statement = await kms.writer.sign(
        { iss: this.#o.issuer, sub: kid, jwk: published, iat, nbf: iat, exp },
        STATEMENT_TYP,
        { signal },
      );
      // Shared before it signs anything, so every instance's /jwks can list it when a token reaches a relying party.
      await this.#o.directory.publish(kid, statement, exp);
      this.#own.set(kid, statement);
      const key: InstanceKey = {
        kid,
        jwk: published,
        writer: new JwsWriter(keyObjectSigner(privateKey, this.#o.alg, "memory", kid), this.#o.alg, kid),
        signUntil: (iat + this.#o.keyLifetime / 2) * 1000,
        expires: exp * 1000,
      };
      this.#current = key;
      this.#lastError = undefined;
      this.#o.logger.info(
        { kid, notAfter: new Date(exp * 1000).toISOString() },
        "certified signing key in use",
      );
      await this.refresh();
      return key;
    } catch (e) {
      this.#lastError = e instanceof BrokerError ? e.reason : "error";
      this.#o.logger.warn({ error: this.#lastError }, "could not certify a signing key");
      if (e instanceof BrokerError) throw e;
      throw new BrokerError("unavailable", { reason: "signing.certify_failed", retryAfter: 5 });
    }
  }

  /**
   * For /jwks: re-reads the store when the last read is older than a second, so a key another instance just
   * certified is listed by every instance at once (a relying party that meets an unknown kid refetches /jwks).
   */
  async refreshIfStale(maxAgeMs = 1_000): Promise<void> {
    if (this.#o.clock() - this.#lastRefresh < maxAgeMs) return;
    this.#refreshing ??= this.refresh().finally(() => {
      this.#refreshing = undefined;
    });
    await this.#refreshing;
  }

  /** Re-reads the shared statements; a store outage keeps the keys verified before (until their statements expire). */
  async refresh(): Promise<void> {
    if (this.#closed) return;
    this.#lastRefresh = this.#o.clock();
    const now = Math.floor(this.#o.clock() / 1000);
    let shared: string[] | undefined;
    try {
      shared = await this.#o.directory.list();
    } catch {
      shared = undefined;
    }
    const next = new Map<string, VerifiedKey>();
    if (shared === undefined) for (const [kid, k] of this.#verifiedKeys) if (k.exp > now) next.set(kid, k);
    for (const s of [...this.#own.values(), ...(shared ?? [])]) {
      const verified = verifyStatement(s, this.#verifiers(), this.#o.issuer, now);
      if (verified) next.set(verified.jwk.kid as string, verified);
      else this.#rejected++;
    }
    for (const kid of this.#own.keys()) if (!next.has(kid)) this.#own.delete(kid);
    this.#verifiedKeys = next;
    const list = [...next.values()]
      .map((k) => k.jwk)
      .sort((a, b) => ((a.kid ?? "") < (b.kid ?? "") ? -1 : 1));
    const same =
      list.length === this.#published.length && list.every((k, i) => k.kid === this.#published[i]?.kid);
    if (!same) this.#published = list;
  }

  jwks(): PublicJwk[] {
    return this.#published;
  }

  ready(): boolean {
    return this.#current !== undefined && this.#o.clock() < this.#current.expires;
  }

  status(): Record<string, unknown> {
    return {
      kid: this.#current?.kid ?? null,
      notAfter: this.#current ? new Date(this.#current.expires).toISOString() : null,
      published: this.#published.length,
      rejectedStatements: this.#rejected,
      ...(this.#lastError ? { lastError: this.#lastError } : {}),
    };
  }

  close(): void {
    this.#closed = true;
    for (const t of this.#timers) clearInterval(t);
  }
}

/**
 * One shared statement → the public JWK it certifies (and until when), or undefined: the JWS must verify with a configured KMS key
 * (by kid, with that key's own alg — RFC 8725 §3.1), carry our typ and issuer, be within its validity (±60 s), and
 * certify a public key whose kid is its RFC 7638 thumbprint. The published entry is rebuilt from the verified key,
 * so no member of a stored document passes through unchecked.
 */
export function verifyStatement(
  statement: string,
  kmsKeys: readonly LoadedKey[],
  issuer: string,
  nowSeconds: number,
): VerifiedKey | undefined {
  let parsed: ReturnType<typeof parseCompactJws>;
  try {
    parsed = parseCompactJws(statement);
  } catch {
    return undefined;
  }
  const { header, payload } = parsed;
  if (header.typ !== STATEMENT_TYP || typeof header.kid !== "string") return undefined;
  const kms = kmsKeys.find((k) => k.jwk.kid === header.kid);
  if (!kms || header.alg !== kms.info.alg) return undefined;
  if (!verifySignature(kms.info.alg, kms.info.key, parsed.signingInput, parsed.signature)) return undefined;
  const { iss, sub, jwk, exp, nbf } = payload as Record<string, unknown>;
  if (iss !== issuer || typeof sub !== "string" || typeof exp !== "number" || typeof nbf !== "number")
    return undefined;
  if (exp <= nowSeconds - CLOCK_SKEW_S || nbf > nowSeconds + CLOCK_SKEW_S) return undefined;
  if (typeof jwk !== "object" || jwk === null || "d" in jwk) return undefined;
  const { alg } = jwk as { alg?: unknown };
  if (typeof alg !== "string") return undefined;
  let key: KeyObject;
  try {
    key = createPublicKey({ key: jwk as never, format: "jwk" });
  } catch {
    return undefined;
  }
  if (key.type !== "public" || !keyFitsAlgorithm(key, alg)) return undefined;
  const members = publicMembers(key);
  const kid = thumbprintOfJwk(members);
  if (kid !== sub || (jwk as { kid?: unknown }).kid !== kid) return undefined;
  return { jwk: { ...members, kid, alg, use: "sig" }, exp };
}
