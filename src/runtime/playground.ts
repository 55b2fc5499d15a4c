import { existsSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { PACKAGE_ROOT } from "../config/load.ts";
import type { Config } from "../config/schema.ts";
import type { PlaygroundAssets, PlaygroundDeps } from "../http/routes/playground.ts";
import type { DecisionLimits } from "../policy/evaluate.ts";
import { type PolicySource, providerFacts } from "./policy-source.ts";

/** Where `npm run build` (scripts/build-playground.ts) writes the browser bundle. */
export const PLAYGROUND_ASSETS_DIR = resolve(PACKAGE_ROOT, "dist", "web", "playground");

export class PlaygroundAssetsMissing extends Error {
  override name = "StartupError";
}

export function playgroundAssetsBuilt(dir = PLAYGROUND_ASSETS_DIR): boolean {
  return existsSync(join(dir, "playground.js")) && existsSync(join(dir, "playground.css"));
}

/** The bundle as built; a missing bundle stops start-up with what to run (never a page that cannot work). */
export function readPlaygroundAssets(dir = PLAYGROUND_ASSETS_DIR): PlaygroundAssets {
  if (!playgroundAssetsBuilt(dir))
    throw new PlaygroundAssetsMissing(`playground.enabled, but ${dir} holds no bundle: run npm run build`);
  return {
    script: readFileSync(join(dir, "playground.js"), "utf8"),
    style: readFileSync(join(dir, "playground.css"), "utf8"),
  };
}

/** What GET /playground serves: the loaded files named relative to the policy path (no server layout). */
export function playgroundDeps(
  config: Config,
  policies: PolicySource,
  limits: DecisionLimits,
  assets: PlaygroundAssets,
): PlaygroundDeps {
  const root = config.policies;
  return {
    assets,
    limits,
    providers: providerFacts(config),
    policyFiles: () =>
      policies.files().map((f) => ({
        path: relative(root, f.path) || f.path.split("/").pop() || "policies",
        text: f.text,
      })),
  };
}
