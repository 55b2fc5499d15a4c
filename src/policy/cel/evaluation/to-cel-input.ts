import type { CelInput } from "@bufbuild/cel";

/** JSON in, CEL input out (numbers are CEL doubles, as in google.protobuf.Value); undefined if not JSON. */
export function toCelInput(v: unknown): CelInput | undefined {
  if (v === null || typeof v === "string" || typeof v === "boolean") return v;
  if (typeof v === "number") return Number.isFinite(v) ? v : undefined;
  if (Array.isArray(v)) {
    const out: CelInput[] = [];
    for (const x of v) {
      const c = toCelInput(x);
      if (c === undefined) return undefined;
      out.push(c);
    }
    return out;
  }
  const proto = typeof v === "object" ? Object.getPrototypeOf(v) : undefined;
  if (proto === Object.prototype || proto === null) {
    const entries: Array<[string, CelInput]> = [];
    for (const [key, x] of Object.entries(v as Record<string, unknown>)) {
      const c = toCelInput(x);
      if (c === undefined) return undefined;
      entries.push([key, c]);
    }
    // fromEntries defines own properties, so a claim named "__proto__" stays a claim.
    return Object.fromEntries(entries);
  }
  return undefined;
}
