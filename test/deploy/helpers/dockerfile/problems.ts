import { failInto } from "../fail-into.ts";
import { checkBaseImages, checkCopies, checkNpmSteps } from "./check-build.ts";
import { checkRuntimeStage } from "./check-runtime.ts";
import { dockerignored, dockerignorePatterns } from "./dockerignore.ts";
import { parseDockerfile, stagesOf } from "./parse.ts";

/** Every problem of a Dockerfile and its .dockerignore; none for the real files. */
export function dockerfileProblems(text: string, dockerignore: string): string[] {
  const problems: string[] = [];
  const fail = failInto(problems);
  const ignore = dockerignorePatterns(dockerignore);
  for (const must of ["node_modules", ".git", "keys", "dist"]) {
    if (!dockerignored(ignore, must)) fail(`.dockerignore must exclude ${must}`);
  }
  const instructions = parseDockerfile(text);
  const stages = stagesOf(instructions, (ins) =>
    fail(`Dockerfile line ${ins.line}: ${ins.keyword} before the first FROM`),
  );
  const stageNames = checkBaseImages(stages, fail);
  checkNpmSteps(instructions, fail);
  checkCopies(stages, stageNames, ignore, fail);
  checkRuntimeStage(stages[stages.length - 1]?.body ?? [], fail);
  return problems;
}
