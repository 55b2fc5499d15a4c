/**
 * Bundles the playground (src/web/playground/main.ts, which imports the pure policy engine) for the browser with
 * esbuild, and copies its style sheet. `npm run build` writes dist/web/playground/; the tests build in memory
 * (`bundlePlayground()`), so they never run against a stale bundle.
 *
 *   node scripts/build-playground.ts [OUTDIR]
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const SOURCE = join(ROOT, "src", "web", "playground");

export interface PlaygroundBundle {
  script: string;
  style: string;
}

export async function bundlePlayground(): Promise<PlaygroundBundle> {
  const result = await build({
    entryPoints: [join(SOURCE, "main.ts")],
    bundle: true,
    write: false,
    outfile: "playground.js", // a name only: with write: false nothing is written
    platform: "browser",
    format: "esm",
    target: "es2022",
    minify: true,
    legalComments: "eof",
    logLevel: "silent",
  });
  const script = result.outputFiles.find((f) => f.path.endsWith(".js"));
  if (!script) throw new Error("esbuild produced no script");
  return { script: script.text, style: readFileSync(join(SOURCE, "playground.css"), "utf8") };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = resolve(process.argv[2] ?? join(ROOT, "dist", "web", "playground"));
  const bundle = await bundlePlayground();
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, "playground.js"), bundle.script);
  writeFileSync(join(out, "playground.css"), bundle.style);
  process.stdout.write(`playground bundle: ${out} (${Math.round(bundle.script.length / 1024)} KiB)\n`);
}
