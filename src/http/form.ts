import { BrokerError } from "../errors.ts";
import type { Reason } from "../reasons.ts";

/** CONTRACT §2: a /token body over 64 KiB is refused with 413. */
export const MAX_BODY_BYTES = 64 * 1024;
/** More distinct parameters than any grant defines is a malformed request, not something to iterate over. */
export const MAX_PARAMETERS = 32;

const invalid = (reason: Reason, detail: string) => new BrokerError("invalid_request", { reason, detail });

const tooLarge = () => new BrokerError("too_large", { reason: "request.too_large" });

/**
 * CONTRACT §2: every single-valued parameter has a length bound — `audience`, `resource`, `scope` 2 KiB each, any
 * other parameter 2 KiB; over it → 400, before anything reads, logs or audits the value. Tokens are bounded at
 * 16 KiB where they are parsed (identity/jws.ts, http/lifecycle-form.ts), so an over-long token gets its grant's
 * own error (400 invalid_request, 400 invalid_grant, 401 invalid_client); tokens are only ever hashed.
 */
export const MAX_PARAMETER_BYTES = 2 * 1024;
const TOKEN_PARAMETERS = new Set(["subject_token", "assertion", "client_assertion", "actor_token", "token"]);

/** Names the error may repeat back; any other name is request data and never echoed. */
const KNOWN_PARAMETERS = new Set([
  ...TOKEN_PARAMETERS,
  "grant_type",
  "subject_token_type",
  "actor_token_type",
  "audience",
  "resource",
  "scope",
  "requested_token_type",
  "client_assertion_type",
  "client_id",
  "token_type_hint",
  "request_context",
  "request_details",
]);

/** CONTRACT §9: the Txn-Token request's JSON objects may take 4 KiB each (checked again where they are parsed). */
const LARGER_PARAMETERS: ReadonlyMap<string, number> = new Map([
  ["request_context", 4 * 1024],
  ["request_details", 4 * 1024],
]);

const tooLong = (name: string, value: string) =>
  !TOKEN_PARAMETERS.has(name) &&
  Buffer.byteLength(value, "utf8") > (LARGER_PARAMETERS.get(name) ?? MAX_PARAMETER_BYTES);

export class BodyTooLarge extends Error {
  override name = "BodyTooLarge";
}

/** RFC 6749 §4.1.3 / Appendix B: the token endpoint takes application/x-www-form-urlencoded only. */
export function isFormContentType(header: string | undefined): boolean {
  if (!header) return false;
  const mediaType = header.split(";", 1)[0]?.trim().toLowerCase();
  return mediaType === "application/x-www-form-urlencoded";
}

/**
 * Reads a request body, refusing more than `max` bytes whether or not Content-Length was declared. With a declared
 * length the HTTP parser delivers exactly that many bytes, so the adapter's fast `text()` is safe; a chunked body
 * is streamed and counted.
 */
export async function readBodyCapped(
  req: Request,
  declared: string | undefined,
  max: number = MAX_BODY_BYTES,
): Promise<string> {
  if (declared !== undefined) {
    if (!/^\d+$/.test(declared) || Number(declared) > max) throw tooLarge();
    return req.text();
  }
  if (!req.body) return "";
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of req.body) {
    total += chunk.byteLength;
    if (total > max) throw tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total).toString("utf8");
}

/** A parsed form that refuses repeated single-valued parameters (RFC 6749 §3.2: MUST NOT be included more than once). */
export class Form {
  readonly #params: Map<string, string[]>;

  constructor(body: string) {
    this.#params = new Map();
    for (const [name, value] of new URLSearchParams(body)) {
      if (Buffer.byteLength(name, "utf8") > MAX_PARAMETER_BYTES)
        throw invalid("request.parameter_too_long", "a parameter name is too long");
      if (tooLong(name, value)) {
        const which = KNOWN_PARAMETERS.has(name) ? `parameter ${name}` : "a parameter";
        throw invalid("request.parameter_too_long", `${which} is too long`);
      }
      const list = this.#params.get(name);
      if (list) list.push(value);
      else {
        if (this.#params.size >= MAX_PARAMETERS)
          throw invalid("request.too_many_parameters", "too many parameters");
        this.#params.set(name, [value]);
      }
    }
  }

  /** A single-valued parameter; empty values count as absent (RFC 6749 §3.1). */
  one(name: string): string | undefined {
    const list = this.#params.get(name);
    if (!list) return undefined;
    if (list.length > 1) throw invalid("request.repeated_parameter", `parameter ${name} is repeated`);
    const v = list[0];
    return v === "" ? undefined : v;
  }

  required(name: string): string {
    const v = this.one(name);
    if (v === undefined) throw invalid("request.missing_parameter", `parameter ${name} is missing`);
    return v;
  }

  /** A parameter that may repeat (RFC 8707 `resource`). */
  all(name: string): string[] {
    return (this.#params.get(name) ?? []).filter((v) => v !== "");
  }

  has(name: string): boolean {
    return this.#params.has(name);
  }
}
