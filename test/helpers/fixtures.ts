import { readFileSync } from "node:fs";

/** Realistic platform token payloads (shared/fixtures/claims, copied so the repo stands alone). */
export type FixtureName =
  | "github-actions-branch"
  | "github-actions-environment"
  | "github-actions-immutable-sub"
  | "github-actions-pull-request"
  | "github-actions-tag-reusable-workflow"
  | "gitlab-ci"
  | "kubernetes-projected"
  | "gcp-metadata-full"
  | "aws-outbound-web-identity"
  | "azure-managed-identity-v1";

export function fixture(name: FixtureName): Record<string, unknown> {
  return JSON.parse(
    readFileSync(new URL(`../fixtures/claims/${name}.json`, import.meta.url), "utf8"),
  ) as Record<string, unknown>;
}

/** A fixture's claims without the time and issuer claims a test issuer fills in. */
export function fixtureClaims(
  name: FixtureName,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  const { iss: _i, iat: _a, nbf: _n, exp: _e, ...rest } = fixture(name);
  return { ...rest, ...overrides };
}
