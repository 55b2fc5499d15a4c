import type { CompiledPolicy } from "./compile.ts";
import type { PolicyProblem } from "./parse.ts";

interface NameOwner {
  /** The canonical audience this name stands for. */
  audience: string;
  policy: string;
  file: string;
}

/**
 * Audience aliases are one namespace across the whole set: an alias names exactly one canonical audience wherever it
 * appears (the same alias on several policies' targets of that audience is fine), and is never itself another
 * target's audience. A policy that breaks this is a load problem naming both targets and is left out of the set.
 */
export function checkAudienceNames(policies: readonly CompiledPolicy[]): {
  kept: CompiledPolicy[];
  problems: PolicyProblem[];
} {
  const audiences = new Map<string, NameOwner>();
  const aliases = new Map<string, NameOwner>();
  const kept: CompiledPolicy[] = [];
  const problems: PolicyProblem[] = [];
  for (const policy of policies) {
    const clash = firstClash(policy, audiences, aliases);
    if (clash) {
      problems.push({ file: policy.source.file, document: policy.source.document, ...clash });
      continue;
    }
    kept.push(policy);
    const owner = (audience: string): NameOwner => ({
      audience,
      policy: policy.name,
      file: policy.source.file,
    });
    for (const t of policy.targets.values()) {
      if (!audiences.has(t.audience)) audiences.set(t.audience, owner(t.audience));
      for (const alias of t.aliases) if (!aliases.has(alias)) aliases.set(alias, owner(t.audience));
    }
  }
  return { kept, problems };
}

const named = (o: NameOwner) => `target "${o.audience}" of policy ${o.policy} (${o.file})`;

function firstClash(
  policy: CompiledPolicy,
  audiences: ReadonlyMap<string, NameOwner>,
  aliases: ReadonlyMap<string, NameOwner>,
): { path: string; message: string } | undefined {
  const targets = policy.spec.spec.grant.targets;
  for (const [i, t] of targets.entries()) {
    const other = aliases.get(t.audience);
    if (other && other.audience !== t.audience)
      return {
        path: `spec.grant.targets[${i}].audience`,
        message: `audience "${t.audience}" is already an alias of ${named(other)}`,
      };
    for (const [j, alias] of (t.aliases ?? []).entries()) {
      const owner = audiences.get(alias);
      const aliasOwner = aliases.get(alias);
      const message = owner
        ? `alias "${alias}" of target "${t.audience}" is the audience of ${named(owner)}`
        : aliasOwner && aliasOwner.audience !== t.audience
          ? `alias "${alias}" of target "${t.audience}" is already an alias of ${named(aliasOwner)}`
          : undefined;
      if (message) return { path: `spec.grant.targets[${i}].aliases[${j}]`, message };
    }
  }
  return undefined;
}
