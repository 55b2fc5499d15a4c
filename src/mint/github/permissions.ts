import { GITHUB_PERMISSION_LEVELS, type GithubPermissionLevel } from "../../policy/schema.ts";

const rank = (level: string): number => GITHUB_PERMISSION_LEVELS.indexOf(level as GithubPermissionLevel);

/**
 * The permissions to ask GitHub for, from the granted scopes `name:level` (the decision already checked each is
 * within the policy's permissions). A permission asked at two levels gets the stronger one.
 */
export function permissionsFromScopes(scopes: readonly string[]): Record<string, GithubPermissionLevel> {
  const out: Record<string, GithubPermissionLevel> = {};
  for (const scope of scopes) {
    const colon = scope.lastIndexOf(":");
    const name = scope.slice(0, colon);
    const level = scope.slice(colon + 1) as GithubPermissionLevel;
    if (colon <= 0 || rank(level) < 0) throw new TypeError(`not a GitHub permission scope: ${scope}`);
    const had = out[name];
    if (had === undefined || rank(level) > rank(had)) out[name] = level;
  }
  return out;
}

/**
 * True when what GitHub granted is within what was asked: every permission asked at no stronger level (GitHub adds
 * `metadata: read` to every installation token by itself), every repository one of those asked.
 */
export function grantedWithin(
  asked: { permissions: Record<string, string>; repositories: readonly string[] | undefined },
  granted: { permissions?: unknown; repositories?: unknown },
): boolean {
  if (typeof granted.permissions !== "object" || granted.permissions === null) return false;
  for (const [name, level] of Object.entries(granted.permissions)) {
    const wanted = asked.permissions[name] ?? (name === "metadata" ? "read" : undefined);
    if (wanted === undefined || typeof level !== "string" || rank(level) < 0 || rank(level) > rank(wanted))
      return false;
  }
  if (asked.repositories === undefined) return true;
  if (!Array.isArray(granted.repositories)) return false;
  const allowed = new Set(asked.repositories.map((r) => r.toLowerCase()));
  return granted.repositories.every(
    (r: unknown) =>
      typeof r === "object" &&
      r !== null &&
      allowed.has(String((r as { name?: unknown }).name).toLowerCase()),
  );
}
