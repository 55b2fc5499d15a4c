import { CliError } from "../shared.ts";
import { withoutControlCharacters } from "./control-characters.ts";
import { EXIT } from "./exit-codes.ts";
import { isRecord } from "./is-record.ts";

const MAX_BODY = 1024 * 1024;

/** fetch under one deadline for the whole command; failures become CliErrors that name the peer, never a URL. */
export class Http {
  readonly #signal: AbortSignal;
  readonly #timeoutMs: number;

  constructor(signal: AbortSignal, timeoutMs: number) {
    this.#signal = signal;
    this.#timeoutMs = timeoutMs;
  }

  async send(what: string, url: URL, init: RequestInit): Promise<Response> {
    try {
      return await fetch(url, { ...init, signal: this.#signal, redirect: "error" });
    } catch (e) {
      throw this.#failure(what, e);
    }
  }

  async text(what: string, res: Response): Promise<string> {
    try {
      const text = await res.text();
      if (text.length > MAX_BODY)
        throw new CliError(`exchange: ${what} sent an oversized answer`, EXIT.refused);
      return text;
    } catch (e) {
      if (e instanceof CliError) throw e;
      throw this.#failure(what, e);
    }
  }

  /** The parsed JSON body, or undefined when it is not JSON. */
  async json(what: string, res: Response): Promise<unknown> {
    const text = await this.text(what, res);
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return undefined;
    }
  }

  #failure(what: string, e: unknown): CliError {
    if (this.#signal.aborted) {
      return new CliError(`exchange: ${what}: timed out after ${this.#timeoutMs / 1000}s`, EXIT.unavailable);
    }
    return new CliError(`exchange: cannot reach ${what} (${networkCode(e)})`, EXIT.unavailable);
  }
}

/** The system error code (ECONNREFUSED, ENOTFOUND…) along an undici error's cause chain, else its last message. */
function networkCode(e: unknown): string {
  let last = "network error";
  for (let cur = e, depth = 0; isRecord(cur) && depth < 5; cur = cur.cause, depth++) {
    if (typeof cur.code === "string") return cur.code;
    if (typeof cur.message === "string" && cur.message) last = cur.message.slice(0, 80);
  }
  return withoutControlCharacters(last);
}
