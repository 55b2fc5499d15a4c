/** Problems with an image reference: it must carry an explicit version tag (or a digest), never `latest`. */
export function imageProblem(image: string): string | undefined {
  if (image.includes("@sha256:")) return undefined;
  const lastSegment = image.split("/").pop() ?? "";
  const colon = lastSegment.indexOf(":");
  if (colon < 0) return `image ${image} has no tag`;
  const tag = lastSegment.slice(colon + 1);
  if (["", "latest", "stable", "edge", "main", "master"].includes(tag))
    return `image ${image} uses a moving tag`;
  return undefined;
}

/** `registry/name:tag@digest` → `name`. */
export function imageName(image: string): string {
  const noDigest = image.split("@")[0] ?? image;
  const last = noDigest.split("/").pop() ?? noDigest;
  return last.split(":")[0] ?? last;
}
