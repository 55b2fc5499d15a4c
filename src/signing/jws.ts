import type { Signer } from "./signer.ts";

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

  async sign(payload: Record<string, unknown>, typ: string, signal: AbortSignal): Promise<string> {
    let header = this.#headers.get(typ);
    if (header === undefined) {
      header = b64(
        this.#kid === undefined ? { alg: this.#alg, typ } : { alg: this.#alg, kid: this.#kid, typ },
      );
      this.#headers.set(typ, header);
    }
    const input = `${header}.${b64(payload)}`;
    const signature = await this.#signer.sign(Buffer.from(input), signal);
    return `${input}.${signature.toString("base64url")}`;
  }
}

/** A signal that never aborts, for signing without a request (start-up, background renewals use their own). */
export const NO_DEADLINE: AbortSignal = new AbortController().signal;
