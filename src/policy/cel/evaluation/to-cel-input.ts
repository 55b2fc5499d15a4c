import type { CelInput } from "@bufbuild/cel";

/** Deeper JSON than this is not bound (a condition on it does not match) instead of exhausting the stack. */
export const MAX_CLAIM_DEPTH = 64;

/**
 * JSON in, CEL input out (numbers are CEL doubles, as in google.protobuf.Value); undefined if not JSON or too deep.
 * Objects become Maps: @bufbuild/cel inspects plain objects (`constructor`, `$typeName`) to tell messages from
 * maps, so a claim with such a name must never reach it as an object property.
 */
export function toCelInput(v: unknown, depth = 0): CelInput | undefined {
  if (depth > MAX_CLAIM_DEPTH) return undefined;
  if (v === null || typeof v === "string" || typeof v === "boolean") return v;
  if (typeof v === "number") return Number.isFinite(v) ? v : undefined;
  if (Array.isArray(v)) {
    const out: CelInput[] = [];
    for (const x of v) {
      const c = toCelInput(x, depth + 1);
      if (c === undefined) return undefined;
      out.push(c);
    }
    return out;
  }
  const proto = typeof v === "object" ? Object.getPrototypeOf(v) : undefined;
  if (proto === Object.prototype || proto === null) {
    const map = new Map<string, CelInput>();
    for (const [key, x] of Object.entries(v as Record<string, unknown>)) {
      const c = toCelInput(x, depth + 1);
      if (c === undefined) return undefined;
      map.set(key, c);
    }
    return map;
  }
  return undefined;
}
