/** Rules that the Dockerfile, the Kubernetes manifests and the compose file apply alike. */

export type Fail = (problem: string) => void;

/** An image reference with an explicit version tag or a digest, never a moving tag. */
export function imageProblem(image: string): string | undefined {
  if (image.includes("@sha256:")) return undefined;
  const tag = /:([^/:]*)$/.exec(image)?.[1];
  if (tag === undefined) return `image ${image} has no tag`;
  return ["", "latest", "stable", "edge", "main", "master"].includes(tag)
    ? `image ${image} uses a moving tag`
    : undefined;
}

/** `registry/name:tag@digest` → `name`. */
export const imageName = (image: string): string =>
  (image.split("@")[0] ?? "").split("/").pop()?.split(":")[0] ?? "";

const SECRET_NAME = /PASSWORD|SECRET|TOKEN|PRIVATE_KEY|CREDENTIAL|API_?KEY/i;

/** A literal environment value that is a secret: by its name, or a URL that carries a password. */
export function secretLiteral(name: string, value: string): string | undefined {
  if (SECRET_NAME.test(name) && value !== "")
    return `${name} is a literal secret (reference a Secret instead)`;
  if (URL.canParse(value) && new URL(value).password !== "")
    return `${name} is a URL with a literal password (reference a Secret instead)`;
  return undefined;
}

/** The broker's young-generation cap (Dockerfile, docs/architecture.md "Memory"): an override must keep it. */
export const NODE_OPTIONS_FLAG = "--max-semi-space-size";
