/**
 * Errors from SDKs and libraries may quote what they were given. Before an error reaches a log line its message
 * and stack pass through here: anything shaped like a JWT, a PEM block, a bearer credential or an AWS secret is
 * replaced. Callers still never put secrets into errors; this is the net under them.
 */
const PATTERNS: Array<[RegExp, string]> = [
  [/eyJ[\w-]*\.[\w-]*\.[\w-]*/g, "[jwt]"],
  [/-----BEGIN [A-Z ]+-----[\s\S]*?-----END [A-Z ]+-----/g, "[pem]"],
  [/(bearer|basic)\s+[\w~+/.=-]{8,}/gi, "$1 [redacted]"],
  [/\b(ASIA|AKIA)[A-Z0-9]{12,}\b/g, "[aws-key-id]"],
  [/\b[A-Za-z0-9/+=]{40}\b/g, "[secret]"],
  [/ya29\.[\w.-]+/g, "[gcp-token]"],
];

export function redact(text: string): string {
  let out = text;
  for (const [re, replacement] of PATTERNS) out = out.replace(re, replacement);
  return out;
}

export interface SafeError {
  name: string;
  message: string;
  stack?: string;
}

export function safeError(e: unknown): SafeError {
  if (!(e instanceof Error)) return { name: typeof e, message: "(non-error thrown)" };
  return { name: e.name, message: redact(e.message), ...(e.stack ? { stack: redact(e.stack) } : {}) };
}
