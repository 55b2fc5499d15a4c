import type { Signer, SignerBackend } from "./signer.ts";

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString("base64url");

/**
 * Compact JWS (RFC 7515 §7.1) with one key: header `{alg, kid?, typ}` (encoded once per typ), then the signer's
 * signature over `BASE64URL(header) . BASE64URL(payload)`.
 */
export class JwsWriter {
  readonly #signer: Signer;
  readonly #alg: string;
  readonly #kid: string | undefined;
  readonly #headers = new Map<string, string>();

  constructor(signer: Signer, alg: string, kid: string | undefined) {
    this.#signer = signer;
    this.#alg = alg;
    this.#kid = kid;
  }

  async sign(payload: Record<string, unknown>, typ: string, deadline: Deadline): Promise<string> {
    let header = this.#headers.get(typ);
    if (header === undefined) {
      header = b64(
        this.#kid === undefined ? { alg: this.#alg, typ } : { alg: this.#alg, kid: this.#kid, typ },
      );
      this.#headers.set(typ, header);
    }
    const input = `${header}.${b64(payload)}`;
    // A key in memory never waits, so the request's deadline timer is not created for it (read lazily).
    const signal = IN_MEMORY.has(this.#signer.backend) ? NO_DEADLINE : deadline.signal;
    const signature = await this.#signer.sign(Buffer.from(input), signal);
    return `${input}.${signature.toString("base64url")}`;
  }
}

/** A signal that never aborts, for signing without a request (start-up, background renewals use their own). */
export const NO_DEADLINE: AbortSignal = new AbortController().signal;

/**
 * When a signature must be done by. `signal` may be a getter: the request's deadline timer is created only when a
 * signer that waits on a KMS reads it.
 */
export interface Deadline {
  readonly signal: AbortSignal;
}

export const NO_REQUEST_DEADLINE: Deadline = { signal: NO_DEADLINE };

const IN_MEMORY: ReadonlySet<string> = new Set<SignerBackend>(["file", "memory"]);
