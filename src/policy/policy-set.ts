import type { CompiledPolicy } from "./compile.ts";
import { type ClaimPath, lookupClaim } from "./pointer.ts";

interface ProviderIndex {
  /** claim key → claim value → policies that require exactly that value. */
  byClaim: Map<string, { path: ClaimPath; byValue: Map<string, CompiledPolicy[]> }>;
  /** Policies with no exact string match to index by: always candidates. */
  unindexed: CompiledPolicy[];
}

const byName = (a: CompiledPolicy, b: CompiledPolicy) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/**
 * An immutable, compiled set of policies with an index by provider and by one exact-match claim per policy, so a
 * decision looks at the handful of policies that can possibly match instead of scanning thousands. A policy is
 * indexed under the exact-match claim that most policies of its provider share (e.g. `repository_owner_id`), so
 * lookups touch few keys; the index only narrows: every candidate is still checked in full.
 */
export class PolicySet {
  readonly policies: readonly CompiledPolicy[];
  readonly #index = new Map<string, ProviderIndex>();

  constructor(policies: readonly CompiledPolicy[]) {
    this.policies = [...policies].sort(byName);
    const perProvider = new Map<string, CompiledPolicy[]>();
    for (const p of this.policies) {
      for (const provider of p.providers) {
        const list = perProvider.get(provider) ?? [];
        list.push(p);
        perProvider.set(provider, list);
      }
    }
    for (const [provider, list] of perProvider) this.#index.set(provider, buildIndex(list));
  }

  get size(): number {
    return this.policies.length;
  }

  /** Policies that may admit a token of `provider` with `claims`, sorted by name. */
  candidates(provider: string, claims: Readonly<Record<string, unknown>>): CompiledPolicy[] {
    const index = this.#index.get(provider);
    if (!index) return [];
    const found: CompiledPolicy[] = [...index.unindexed];
    for (const { path, byValue } of index.byClaim.values()) {
      const value = lookupClaim(claims, path);
      if (typeof value !== "string") continue;
      const hits = byValue.get(value);
      if (hits) found.push(...hits);
    }
    return found.length > 1 ? [...new Set(found)].sort(byName) : found;
  }

  /** Union of the scopes policies grant (RFC 8414 `scopes_supported`). */
  scopesSupported(): string[] {
    const all = new Set<string>();
    for (const p of this.policies)
      for (const t of p.targets.values()) for (const s of t.allowedScopes) all.add(s);
    return [...all].sort();
  }

  /** Names of the claims policies template into issued tokens (part of OIDC `claims_supported`). */
  grantedClaims(): string[] {
    const all = new Set<string>();
    for (const p of this.policies) for (const [name] of p.claims) all.add(name);
    return [...all];
  }
}

function buildIndex(policies: CompiledPolicy[]): ProviderIndex {
  const popularity = new Map<string, number>();
  for (const p of policies) {
    for (const m of p.match)
      if (m.matcher.exactStrings) popularity.set(m.key, (popularity.get(m.key) ?? 0) + 1);
  }
  const index: ProviderIndex = { byClaim: new Map(), unindexed: [] };
  for (const p of policies) {
    let best: (typeof p.match)[number] | undefined;
    for (const m of p.match) {
      if (m.matcher.exactStrings && (!best || (popularity.get(m.key) ?? 0) > (popularity.get(best.key) ?? 0)))
        best = m;
    }
    if (!best?.matcher.exactStrings) {
      index.unindexed.push(p);
      continue;
    }
    const entry = index.byClaim.get(best.key) ?? {
      path: best.path,
      byValue: new Map<string, CompiledPolicy[]>(),
    };
    index.byClaim.set(best.key, entry);
    const { byValue } = entry;
    for (const v of new Set(best.matcher.exactStrings)) {
      const list = byValue.get(v) ?? [];
      list.push(p);
      byValue.set(v, list);
    }
  }
  return index;
}
