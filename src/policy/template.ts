import { type ClaimPath, isValidPointer, lookupClaim, parseClaimKey } from "./pointer.ts";

/**
 * `{{claims.NAME}}` / `{{claims./json/pointer}}` templates, compiled once. Rendering a claim that is missing, or
 * not a string, number or boolean, fails: the caller denies the request (CONTRACT §5).
 */
export interface Template {
  readonly source: string;
  readonly claimKeys: readonly string[];
  render(claims: unknown): { ok: true; value: string } | { ok: false; missing: string };
}

export class TemplateError extends Error {
  override name = "TemplateError";
}

const PLACEHOLDER = /\{\{\s*([^}]*?)\s*\}\}/g;

type Part = string | { key: string; path: ClaimPath };

export function compileTemplate(source: string): Template {
  const parts: Part[] = [];
  let last = 0;
  for (const m of source.matchAll(PLACEHOLDER)) {
    const expr = m[1] ?? "";
    if (!expr.startsWith("claims.") || expr.length === "claims.".length) {
      throw new TemplateError(`"{{${expr}}}" is not {{claims.NAME}} or {{claims./pointer}}`);
    }
    const key = expr.slice("claims.".length);
    if (!isValidPointer(key)) throw new TemplateError(`"${key}" is not a valid JSON Pointer`);
    parts.push(source.slice(last, m.index), { key, path: parseClaimKey(key) });
    last = m.index + m[0].length;
  }
  parts.push(source.slice(last));
  if (parts.some((p) => typeof p === "string" && (p.includes("{{") || p.includes("}}")))) {
    throw new TemplateError("unbalanced {{ }} in template");
  }
  const claimKeys = parts.filter((p) => typeof p !== "string").map((p) => p.key);
  return {
    source,
    claimKeys,
    render(claims) {
      let out = "";
      for (const part of parts) {
        if (typeof part === "string") {
          out += part;
          continue;
        }
        const v = lookupClaim(claims, part.path);
        if (
          typeof v === "string" ||
          typeof v === "boolean" ||
          (typeof v === "number" && Number.isFinite(v))
        ) {
          out += String(v);
        } else {
          return { ok: false, missing: part.key };
        }
      }
      return { ok: true, value: out };
    },
  };
}
