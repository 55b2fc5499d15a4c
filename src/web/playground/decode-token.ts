/**
 * The payload of a compact JWS, decoded in the page without verification (the playground is a what-if tool;
 * the broker verifies signatures). Returns the claims or a message saying why the text is not a JWT.
 */
export function decodeJwtPayload(token: string): { claims: Record<string, unknown> } | { error: string } {
  const parts = token.trim().split(".");
  if (parts.length !== 3) return { error: "not a JWT: expected three dot-separated parts" };
  const payload = parts[1] ?? "";
  if (!/^[A-Za-z0-9_-]*$/.test(payload)) return { error: "not a JWT: the payload is not base64url" };
  try {
    const base64 = payload
      .replaceAll("-", "+")
      .replaceAll("_", "/")
      .padEnd(Math.ceil(payload.length / 4) * 4, "=");
    const bytes = Uint8Array.from(atob(base64), (ch) => ch.charCodeAt(0));
    const value: unknown = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
    if (typeof value !== "object" || value === null || Array.isArray(value))
      return { error: "not a JWT: the payload is not a JSON object" };
    return { claims: value as Record<string, unknown> };
  } catch {
    return { error: "not a JWT: the payload is not base64url-encoded JSON" };
  }
}
