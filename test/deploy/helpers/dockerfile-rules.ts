import { existsSync } from "node:fs";
import { join, posix } from "node:path";
import dockerignoreModule from "@balena/dockerignore";
import { DockerfileParser, type ImageTemplate, type Instruction, type JSONInstruction } from "dockerfile-ast";
import { validate } from "dockerfile-utils";
import { BROKER_PORT, ROOT } from "./artefacts.ts";
import { NODE_OPTIONS_FLAG, secretLiteral } from "./shared-rules.ts";

const jsonArgs = (i: JSONInstruction | undefined): string[] =>
  i?.getJSONStrings().map((s) => s.getJSONValue()) ?? [];
const args = (i: Instruction | undefined): string => i?.getArgumentsContent() ?? "";

/** What the runtime stage may take from the build stage or the context: no sources, tests or keys. */
const RUNTIME_FILES = ["dist", "node_modules", "package.json", "policies"];

/** The Dockerfile (parsed by dockerfile-ast, linted by dockerfile-utils) and its .dockerignore. */
export function dockerfileProblems(text: string, dockerignore: string): string[] {
  const problems = validate(text).map((d) => `Dockerfile line ${d.range.start.line + 1}: ${d.message}`);
  const fail = (problem: string) => problems.push(`Dockerfile: ${problem}`);
  // A CommonJS module: its `default` is the factory itself.
  const ignored = dockerignoreModule.default().add(dockerignore.split(/\r?\n/));
  for (const must of ["node_modules", ".git", "keys", "dist"])
    if (!ignored.ignores(must)) problems.push(`.dockerignore must exclude ${must}`);

  const dockerfile = DockerfileParser.parse(text);
  const froms = dockerfile.getFROMs();
  if (froms.length < 2) fail("must be multi-stage (a build stage, then a runtime stage without build tools)");
  const stages: string[] = [];
  froms.forEach((from) => {
    const image = from.getImage() ?? "";
    const pinnedNode =
      from.getImageName() === "node" && /^24(?:[.-][\w.-]+)?$/.test(from.getImageTag() ?? "");
    if (!stages.includes(image) && !pinnedNode)
      fail(`FROM ${image} must be a node:24 image with an explicit tag`);
    const stage = dockerfile.getContainingImage(from.getRange().start);
    for (const copy of stage?.getCOPYs() ?? []) {
      const source = copy.getFromFlag()?.getValue() ?? undefined;
      const paths = copy.getArguments().map((a) => a.getValue());
      if (source !== undefined && !stages.includes(source))
        fail(`COPY --from=${source} is not an earlier stage`);
      for (const src of paths.slice(0, -1)) {
        if (source === undefined && !existsSync(join(ROOT, src))) fail(`COPY source ${src} does not exist`);
        else if (source === undefined && ignored.ignores(src))
          fail(`COPY source ${src} is excluded by .dockerignore`);
        if (from === froms.at(-1) && !RUNTIME_FILES.includes(posix.basename(src)))
          fail(`the runtime stage copies ${src}; only ${RUNTIME_FILES.join(", ")} belong there`);
      }
    }
    stages.push(from.getBuildStage() ?? image);
  });

  const runs = dockerfile
    .getInstructions()
    .filter((i) => i.getKeyword() === "RUN")
    .map(args);
  if (runs.some((r) => /\bnpm\s+(install|i|add)\b/.test(r))) fail('"npm install" in a RUN (use npm ci)');
  if (!runs.some((r) => /\bnpm\s+ci\b/.test(r))) fail("dependencies must be installed with npm ci");
  if (!runs.some((r) => /\bnpm\s+(prune|ci)\b[^&;]*--omit=dev/.test(r)))
    fail("dev dependencies must be pruned");

  for (const env of dockerfile.getENVs()) {
    for (const p of env.getProperties()) {
      const secret = secretLiteral(p.getName(), p.getValue() ?? "");
      if (secret) fail(`ENV ${secret}`);
    }
  }
  const final = froms.at(-1);
  const runtime = final && dockerfile.getContainingImage(final.getRange().start);
  if (runtime) checkRuntimeStage(runtime, fail);
  return problems;
}

/** The image as it runs: non-root, healthchecked without curl, on the broker's port, signals reaching node. */
function checkRuntimeStage(runtime: ImageTemplate, fail: (problem: string) => void): void {
  const last = (keyword: string) =>
    runtime
      .getInstructions()
      .filter((i) => i.getKeyword() === keyword)
      .at(-1);
  const user = args(last("USER")).split(":")[0];
  if (user === undefined || ["", "0", "root"].includes(user))
    fail(`the runtime stage must run as a non-root USER`);

  const healthcheck = args(runtime.getHEALTHCHECKs().at(-1));
  const probe = /^CMD\s+(\[.*\])$/s.exec(healthcheck)?.[1];
  const command = probe === undefined ? undefined : parseJsonArray(probe);
  if (!command) fail("HEALTHCHECK must be CMD in exec form (a JSON array)");
  else if (!command.join(" ").includes("/healthz") || !command.join(" ").includes(String(BROKER_PORT)))
    fail(`HEALTHCHECK must probe /healthz on port ${BROKER_PORT}`);
  else if (/\b(curl|wget)\b/.test(command.join(" ")))
    fail("HEALTHCHECK must not need curl or wget (not in slim images)");

  const exposed = runtime
    .getInstructions()
    .filter((i) => i.getKeyword() === "EXPOSE")
    .flatMap((i) => args(i).split(/\s+/));
  if (!exposed.some((p) => p === `${BROKER_PORT}` || p === `${BROKER_PORT}/tcp`))
    fail(`EXPOSE ${BROKER_PORT} missing`);
  const entrypoint = jsonArgs(runtime.getENTRYPOINTs().at(-1));
  if (entrypoint.join(" ") !== "node dist/cli/main.js")
    fail('ENTRYPOINT must be the exec form ["node", "dist/cli/main.js"] (SIGTERM reaches node as PID 1)');
  if (jsonArgs(runtime.getCMDs().at(-1))[0] !== "serve") fail('CMD must be ["serve", …]');
  const nodeOptions = runtime
    .getENVs()
    .flatMap((e) => e.getProperties())
    .filter((p) => p.getName() === "NODE_OPTIONS")
    .at(-1);
  if (!nodeOptions?.getValue()?.includes(NODE_OPTIONS_FLAG))
    fail(`the runtime stage must set NODE_OPTIONS=${NODE_OPTIONS_FLAG}=… (the memory budget)`);
}

function parseJsonArray(text: string): string[] | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) && value.every((v) => typeof v === "string") ? value : undefined;
  } catch {
    return undefined;
  }
}
