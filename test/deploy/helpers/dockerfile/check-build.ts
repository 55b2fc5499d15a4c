import { existsSync } from "node:fs";
import { join, posix } from "node:path";
import { ROOT } from "../deploy-layout.ts";
import type { Fail } from "../fail-into.ts";
import { imageProblem } from "../images.ts";
import { dockerignored } from "./dockerignore.ts";
import { execForm, type Instruction, type Stage } from "./parse.ts";

/** Multi-stage, on pinned node:24 images (a later FROM may name an earlier stage). */
export function checkBaseImages(stages: readonly Stage[], fail: Fail): Set<string> {
  if (stages.length < 2) fail("Dockerfile must be multi-stage (build stage + runtime stage)");
  const stageNames = new Set<string>();
  for (const s of stages) {
    if (!stageNames.has(s.image)) {
      if (!/^node:24([-.][\w.-]+)?$/.test(s.image))
        fail(`Dockerfile: FROM ${s.image} must be a node:24 image`);
      else if (imageProblem(s.image)) fail(`Dockerfile: FROM ${s.image} needs an explicit tag`);
    }
    if (s.name) stageNames.add(s.name);
  }
  return stageNames;
}

/** npm ci, a build, and dev dependencies pruned; never npm install. */
export function checkNpmSteps(instructions: readonly Instruction[], fail: Fail): void {
  const runs = instructions.filter((i) => i.keyword === "RUN").map((i) => i.args);
  for (const r of runs) {
    if (/\bnpm\s+(install|i|in|add|isntall)\b/.test(r))
      fail(`Dockerfile: "npm install" in RUN ${r} (use npm ci)`);
  }
  if (!runs.some((r) => /\bnpm\s+ci\b/.test(r)))
    fail("Dockerfile: dependencies must be installed with npm ci");
  if (!runs.some((r) => /\bnpm\s+run\s+build\b/.test(r))) fail("Dockerfile: npm run build missing");
  if (!runs.some((r) => /\bnpm\s+(prune|ci)\b[^&;]*--omit=dev/.test(r)))
    fail("Dockerfile: dev dependencies must be pruned");
}

/** Local COPY sources exist and survive .dockerignore; --from names an earlier stage; the final stage is lean. */
export function checkCopies(
  stages: readonly Stage[],
  stageNames: ReadonlySet<string>,
  ignore: readonly string[],
  fail: Fail,
): void {
  const finalStage = stages[stages.length - 1];
  for (const s of stages) {
    for (const ins of s.body.filter((i) => i.keyword === "COPY" || i.keyword === "ADD")) {
      const words = ins.args.split(/\s+/);
      const from = words.find((w) => w.startsWith("--from="))?.slice("--from=".length);
      const paths = execForm(ins.args) ?? words.filter((w) => !w.startsWith("--"));
      const sources = paths.slice(0, -1);
      if (ins.keyword === "ADD") fail(`Dockerfile line ${ins.line}: use COPY, not ADD`);
      if (from !== undefined) {
        if (!stageNames.has(from))
          fail(`Dockerfile line ${ins.line}: COPY --from=${from} is not an earlier stage`);
      } else {
        for (const src of sources) {
          if (!existsSync(join(ROOT, src)))
            fail(`Dockerfile line ${ins.line}: COPY source ${src} does not exist`);
          else if (dockerignored(ignore, src))
            fail(`Dockerfile line ${ins.line}: COPY source ${src} is excluded by .dockerignore`);
        }
      }
      if (s === finalStage) {
        for (const src of sources) {
          const base = posix.basename(src);
          if (!["dist", "node_modules", "package.json", "policies"].includes(base)) {
            fail(
              `Dockerfile: the final stage copies ${src}; only dist, node_modules, package.json and policies belong there`,
            );
          }
        }
      }
    }
  }
}
