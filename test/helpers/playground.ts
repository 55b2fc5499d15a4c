import { bundlePlayground, type PlaygroundBundle } from "../../scripts/build-playground.ts";

let bundle: Promise<PlaygroundBundle> | undefined;

/** The playground bundle built from the current sources (once per test process), never a stale dist/. */
export const freshPlaygroundBundle = (): Promise<PlaygroundBundle> => {
  bundle ??= bundlePlayground();
  return bundle;
};
