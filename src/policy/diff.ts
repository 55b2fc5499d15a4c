import type { Decision, Grant } from "./types.ts";

/**
 * How one request's outcome differs between two policy sets (`policy diff`, CONTRACT §6). Pure: the CLI
 * replays recorded requests through `decide` twice and asks this what changed.
 */
export type ChangeKind =
  /** Denied by base, allowed by head: the change a reviewer must approve explicitly. */
  | "widening"
  /** Allowed by base, denied by head. */
  | "narrowing"
  /** Allowed by both, by different policies. */
  | "policy"
  /** Allowed by the same policy with other scopes. */
  | "scopes"
  /** Allowed by the same policy with another lifetime. */
  | "lifetime"
  /** Allowed by the same policy, scopes and lifetime, with another subject, claims or target. */
  | "grant";

export const CHANGE_KINDS: readonly ChangeKind[] = [
  "widening",
  "narrowing",
  "policy",
  "scopes",
  "lifetime",
  "grant",
];

export const CHANGE_LABEL: Readonly<Record<ChangeKind, string>> = {
  widening: "deny→allow",
  narrowing: "allow→deny",
  policy: "another policy",
  scopes: "other scopes",
  lifetime: "other lifetime",
  grant: "other grant",
};

export interface DecisionChange {
  kinds: ChangeKind[];
  /** The policy the change is grouped under: head's admitting policy, else base's. */
  policy: string;
  /** One line on what changed, naming policies, scopes and lifetimes (never claim values). */
  detail: string;
}

const outcome = (d: Decision) =>
  d.allow
    ? `allowed by ${d.grant.policy} [${d.grant.scopes.join(" ")}] ${d.grant.ttl}s`
    : `denied (${d.reason})`;

const sameScopes = (a: Grant, b: Grant) =>
  a.scopes.length === b.scopes.length && [...a.scopes].sort().join(" ") === [...b.scopes].sort().join(" ");

/** Structural equality of JSON-like values (grants hold strings, numbers, arrays and plain objects). */
function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/** Which other parts of two grants by the same policy differ (names only: values may be claim values). */
function otherDifferences(a: Grant, b: Grant): string[] {
  const parts: string[] = [];
  if (a.subject !== b.subject) parts.push("subject");
  if (!same(a.claims, b.claims)) parts.push("claims");
  if (!same(a.target, b.target)) parts.push("target");
  return parts;
}

export function compareDecisions(base: Decision, head: Decision): DecisionChange | undefined {
  if (!base.allow && !head.allow) return undefined;
  const detail = `${outcome(base)} → ${outcome(head)}`;
  if (!base.allow && head.allow) return { kinds: ["widening"], policy: head.grant.policy, detail };
  if (base.allow && !head.allow) return { kinds: ["narrowing"], policy: base.grant.policy, detail };
  if (!base.allow || !head.allow) return undefined;
  const b = base.grant;
  const h = head.grant;
  if (b.policy !== h.policy) return { kinds: ["policy"], policy: h.policy, detail };
  const kinds: ChangeKind[] = [];
  if (!sameScopes(b, h)) kinds.push("scopes");
  if (b.ttl !== h.ttl) kinds.push("lifetime");
  if (kinds.length > 0) return { kinds, policy: h.policy, detail };
  const other = otherDifferences(b, h);
  if (other.length === 0) return undefined;
  return { kinds: ["grant"], policy: h.policy, detail: `${detail}; ${other.join(", ")} changed` };
}
