/**
 * What the broker knows about identity platforms, as data (fulcio's habit): which issuer is shared by every
 * customer, which claims pin a tenant, and the JSON type of each claim the platform sends (CONTRACT §5 "Claim
 * types", from `shared/fixtures/claims`). Lint, the `match` compiler and the CEL checker all read it here.
 */

export const CLAIM_TYPES = ["string", "number", "boolean", "array", "object"] as const;
export type ClaimType = (typeof CLAIM_TYPES)[number];

/** Claim types by JSON Pointer (`/repository_id`, `/kubernetes.io/namespace`); undeclared claims are untyped. */
export type ClaimShape = ReadonlyMap<string, ClaimType>;

export type Platform = "github" | "gitlab" | "google" | "terraform" | "kubernetes" | "azure";

export interface PlatformInfo {
  label: string;
  /** The issuer shared by every customer of the platform, when there is one. */
  multiTenantIssuer?: string;
  /** Issuers of the same platform scoped to one customer or cluster (and so not multi-tenant). */
  scopedIssuer?: RegExp;
  /** Claims whose exact value pins the tenant by an ID that is never reused. */
  tenantPins: readonly string[];
  pinAdvice: string;
  /** Claim name (or `/json/pointer`) → JSON type. */
  claims: Readonly<Record<string, ClaimType>>;
}

const strings = (...names: string[]): Record<string, ClaimType> =>
  Object.fromEntries(names.map((n) => [n, "string" as const]));
const TIMES: Record<string, ClaimType> = { exp: "number", iat: "number", nbf: "number" };

export const PLATFORMS: Readonly<Record<Platform, PlatformInfo>> = {
  github: {
    label: "GitHub Actions",
    multiTenantIssuer: "https://token.actions.githubusercontent.com",
    // GitHub Enterprise Cloud's custom issuer (include_enterprise_slug) and GitHub Enterprise Server.
    scopedIssuer: /^https:\/\/(token\.actions\.githubusercontent\.com\/[^/]+|[^/]+\/_services\/token)\/?$/,
    tenantPins: ["repository_owner_id", "repository_id"],
    pinAdvice: 'match repository_owner_id (and repository_id) exactly, e.g. repository_owner_id: "1342004"',
    // GitHub sends every claim as a string, IDs, counters and booleans included ("892834", "1", "true").
    claims: {
      ...strings(
        "iss",
        "sub",
        "aud",
        "jti",
        "ref",
        "sha",
        "repository",
        "repository_owner",
        "repository_owner_id",
        "repository_id",
        "repository_visibility",
        "actor",
        "actor_id",
        "workflow",
        "workflow_ref",
        "workflow_sha",
        "job_workflow_ref",
        "job_workflow_sha",
        "head_ref",
        "base_ref",
        "event_name",
        "ref_type",
        "ref_protected",
        "run_id",
        "run_number",
        "run_attempt",
        "runner_environment",
        "check_run_id",
        "environment",
        "environment_node_id",
        "enterprise",
        "enterprise_id",
      ),
      ...TIMES,
    },
  },
  gitlab: {
    label: "GitLab.com",
    multiTenantIssuer: "https://gitlab.com",
    tenantPins: ["namespace_id", "project_id"],
    pinAdvice: 'match namespace_id (or project_id) exactly, e.g. namespace_id: "72"',
    claims: {
      ...strings(
        "iss",
        "sub",
        "aud",
        "jti",
        "namespace_id",
        "namespace_path",
        "project_id",
        "project_path",
        "user_id",
        "user_login",
        "user_email",
        "user_access_level",
        "pipeline_id",
        "pipeline_source",
        "job_id",
        "ref",
        "ref_type",
        "ref_path",
        "ref_protected",
        "environment",
        "environment_protected",
        "deployment_tier",
        "environment_action",
        "runner_environment",
        "sha",
        "project_visibility",
        "ci_config_ref_uri",
        "ci_config_sha",
      ),
      runner_id: "number",
      ...TIMES,
    },
  },
  google: {
    label: "Google",
    multiTenantIssuer: "https://accounts.google.com",
    tenantPins: [
      "sub",
      "azp",
      "email",
      "google/compute_engine/project_number",
      "google/compute_engine/project_id",
    ],
    pinAdvice: "match sub (the service account's unique ID) or email exactly",
    claims: {
      ...strings("iss", "sub", "aud", "azp", "email"),
      email_verified: "boolean",
      ...TIMES,
      "/google": "object",
      "/google/compute_engine": "object",
      "/google/compute_engine/instance_creation_timestamp": "number",
      "/google/compute_engine/instance_id": "string",
      "/google/compute_engine/instance_name": "string",
      "/google/compute_engine/project_id": "string",
      "/google/compute_engine/project_number": "number",
      "/google/compute_engine/zone": "string",
    },
  },
  terraform: {
    label: "HCP Terraform",
    multiTenantIssuer: "https://app.terraform.io",
    tenantPins: ["terraform_organization_id"],
    pinAdvice: "match terraform_organization_id exactly",
    claims: { ...strings("iss", "sub", "aud", "jti"), ...TIMES },
  },
  kubernetes: {
    label: "Kubernetes",
    // A cluster's own issuer (in-cluster, EKS, GKE, AKS): every cluster is its own tenant.
    scopedIssuer:
      /^https:\/\/(kubernetes\.default\.svc(\.cluster\.local)?|oidc\.eks\.[a-z0-9-]+\.amazonaws\.com\/id\/[A-Za-z0-9]+|container\.googleapis\.com\/v1\/projects\/[^/]+\/(locations|zones)\/[^/]+\/clusters\/[^/]+|[a-z0-9.-]+\.oic\.prod-aks\.azure\.com\/[^/]+\/[^/]+)\/?$/,
    tenantPins: [],
    pinAdvice: "",
    claims: {
      ...strings("iss", "sub", "jti"),
      aud: "array",
      ...TIMES,
      "/kubernetes.io": "object",
      "/kubernetes.io/namespace": "string",
      "/kubernetes.io/node": "object",
      "/kubernetes.io/node/name": "string",
      "/kubernetes.io/node/uid": "string",
      "/kubernetes.io/pod": "object",
      "/kubernetes.io/pod/name": "string",
      "/kubernetes.io/pod/uid": "string",
      "/kubernetes.io/serviceaccount": "object",
      "/kubernetes.io/serviceaccount/name": "string",
      "/kubernetes.io/serviceaccount/uid": "string",
      "/kubernetes.io/warnafter": "number",
    },
  },
  azure: {
    label: "Microsoft Entra ID",
    // v2.0 and v1 (sts.windows.net) issuers name one tenant.
    scopedIssuer: /^https:\/\/(login\.microsoftonline\.com\/[^/]+\/v2\.0|sts\.windows\.net\/[^/]+)\/?$/,
    tenantPins: [],
    pinAdvice: "",
    claims: {
      ...strings(
        "iss",
        "sub",
        "aud",
        "idp",
        "appid",
        "appidacr",
        "azp",
        "azpacr",
        "idtyp",
        "oid",
        "tid",
        "ver",
        "xms_mirid",
      ),
      ...TIMES,
    },
  },
};

/** What the policy compiler knows of one configured provider. */
export interface ProviderFacts {
  name: string;
  issuer?: string;
  /** `providers[].claims` of the config: declared types, over the platform's built-in shape. */
  claims?: Readonly<Record<string, ClaimType>>;
  /** Tokens are validated by a Kubernetes TokenReview: the provider is a cluster. */
  kubernetes?: boolean;
}

export interface DescribedProvider {
  name: string;
  platform: Platform | undefined;
  multiTenant: boolean;
  /** How findings name it: the issuer when known. */
  described: string;
  shape: ClaimShape;
}

/** Without a config, these provider names stand for the multi-tenant issuers (CONTRACT §6). */
const PROVIDER_NAMES: Readonly<Record<string, Platform>> = { github: "github", gitlab: "gitlab" };

const stripSlash = (url: string) => url.replace(/\/+$/, "");

function platformOf(facts: ProviderFacts): { platform: Platform | undefined; multiTenant: boolean } {
  if (facts.issuer === undefined) {
    const platform = PROVIDER_NAMES[facts.name.toLowerCase()];
    return { platform, multiTenant: platform !== undefined };
  }
  for (const [platform, info] of Object.entries(PLATFORMS) as Array<[Platform, PlatformInfo]>) {
    if (info.multiTenantIssuer !== undefined && stripSlash(facts.issuer) === info.multiTenantIssuer)
      return { platform, multiTenant: true };
    if (info.scopedIssuer?.test(facts.issuer)) return { platform, multiTenant: false };
  }
  if (facts.kubernetes) return { platform: "kubernetes", multiTenant: false };
  return { platform: undefined, multiTenant: false };
}

/** A claim key as a JSON Pointer: `repository_id` → `/repository_id`; a key starting with `/` already is one. */
export const claimPointer = (key: string): string =>
  key.startsWith("/") ? key : `/${key.replaceAll("~", "~0").replaceAll("/", "~1")}`;

export function describeProvider(facts: ProviderFacts): DescribedProvider {
  const { platform, multiTenant } = platformOf(facts);
  const shape = new Map<string, ClaimType>();
  for (const [k, t] of Object.entries(platform ? PLATFORMS[platform].claims : {}))
    shape.set(claimPointer(k), t);
  for (const [k, t] of Object.entries(facts.claims ?? {})) shape.set(claimPointer(k), t);
  return {
    name: facts.name,
    platform,
    multiTenant,
    described: facts.issuer === undefined ? `"${facts.name}"` : `"${facts.name}" (${facts.issuer})`,
    shape,
  };
}

/** The JSON type of a claim value, as shapes name it; undefined for a missing claim. */
export function jsonTypeOf(v: unknown): ClaimType | "null" | undefined {
  if (v === undefined) return undefined;
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  const t = typeof v;
  return t === "string" || t === "number" || t === "boolean" ? t : "object";
}
