/**
 * Bundles the GitHub Action (action/src/main.ts and what it imports, @actions/core included) into the single
 * file action.yml runs: action/dist/index.js. `npm run build:action` writes it; test/action/bundle.test.ts
 * fails when the committed file differs from a fresh build.
 */
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
export const ACTION_BUNDLE = join(here, "dist", "index.js");

/** The bundle's text, built in memory. */
export async function buildActionBundle(): Promise<string> {
  const result = await build({
    entryPoints: [join(here, "src", "main.ts")],
    bundle: true,
    platform: "node",
    target: "node24",
    format: "esm",
    // Some of @actions/core's dependencies are CommonJS that `require` Node built-ins.
    banner: {
      js: 'import { createRequire } from "node:module";\nconst require = createRequire(import.meta.url);',
    },
    legalComments: "eof",
    charset: "utf8",
    write: false,
    logLevel: "silent",
  });
  const [file] = result.outputFiles;
  if (!file) throw new Error("esbuild produced no output");
  return file.text;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(ACTION_BUNDLE, await buildActionBundle());
  process.stdout.write(`wrote ${ACTION_BUNDLE}\n`);
}
