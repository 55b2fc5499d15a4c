/** The patterns of a .dockerignore file (blank lines and comments dropped). */
export function dockerignorePatterns(dockerignore: string): string[] {
  return dockerignore
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
}

/** .dockerignore matching for the plain patterns this repo uses (no negation). */
export function dockerignored(patterns: readonly string[], path: string): boolean {
  const parts = path.split("/");
  return patterns.some((p) => {
    const pat = p.replace(/^\/+|\/+$/g, "");
    const re = new RegExp(
      `^${pat
        .split("**")
        .map((s) =>
          s
            .replace(/[.+^${}()|[\]\\]/g, "\\$&")
            .replace(/\*/g, "[^/]*")
            .replace(/\?/g, "[^/]"),
        )
        .join(".*")}$`,
    );
    return parts.some((_, i) => re.test(parts.slice(0, i + 1).join("/")));
  });
}
