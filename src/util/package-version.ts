import { readFileSync } from "node:fs";

/** The broker's version from package.json, which sits two levels up from src/<dir>/ and dist/<dir>/ alike. */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version?: unknown;
  };
  return String(pkg.version);
}
