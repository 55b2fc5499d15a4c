/**
 * Dockerfile and .dockerignore: multi-stage on pinned Node 24 images, npm ci, a lean non-root runtime stage with
 * a HEALTHCHECK; then one mutation at a time (of either file), each of which the checks must report.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { ROOT } from "./helpers/deploy-layout.ts";
import { dockerfileProblems } from "./helpers/dockerfile/problems.ts";
import { assertReports } from "./helpers/mutations.ts";

const readDockerfile = () => readFileSync(join(ROOT, "Dockerfile"), "utf8");
const readDockerignore = () => readFileSync(join(ROOT, ".dockerignore"), "utf8");

describe("Dockerfile", () => {
  it("builds on Node 24, runs as non-root, has a HEALTHCHECK and installs with npm ci", () => {
    assert.deepEqual(dockerfileProblems(readDockerfile(), readDockerignore()), []);
  });
});

/** A name, an edit of the Dockerfile text, the expected problem, and optionally an edit of .dockerignore. */
const dockerMutations: Array<[string, (t: string) => string, RegExp, ((i: string) => string)?]> = [
  [
    "old Node",
    (t) => t.replace("FROM node:24-bookworm-slim AS runtime", "FROM node:22-bookworm-slim AS runtime"),
    /FROM node:22-bookworm-slim must be a node:24 image/,
  ],
  [
    "untagged base",
    (t) => t.replace("FROM node:24-bookworm-slim AS build", "FROM node AS build"),
    /must be a node:24 image/,
  ],
  ["single stage", (t) => t.slice(t.indexOf("FROM node:24-bookworm-slim AS runtime")), /multi-stage/],
  ["no USER", (t) => t.replace(/^USER .*$/m, ""), /non-root USER/],
  ["USER root", (t) => t.replace(/^USER .*$/m, "USER root"), /non-root USER \(is root\)/],
  [
    "no HEALTHCHECK",
    (t) => t.replace(/^HEALTHCHECK[\s\S]*?process\.exit\(1\)\)"\]\n/m, ""),
    /HEALTHCHECK CMD probing \/healthz/,
  ],
  [
    "curl HEALTHCHECK",
    (t) =>
      t.replace(
        /^HEALTHCHECK[\s\S]*?process\.exit\(1\)\)"\]\n/m,
        "HEALTHCHECK CMD curl -f http://127.0.0.1:8080/healthz\n",
      ),
    /must not need curl/,
  ],
  [
    "HEALTHCHECK not JSON",
    (t) => t.replace('process.exit(1))"]', "process.exit(1))]"),
    /HEALTHCHECK CMD exec form is not valid JSON/,
  ],
  ["npm install", (t) => t.replace("RUN npm ci --ignore-scripts", "RUN npm install"), /"npm install" in RUN/],
  [
    "npm i",
    (t) => t.replace("RUN npm ci --ignore-scripts", "RUN npm i --ignore-scripts"),
    /"npm install" in RUN/,
  ],
  [
    "no prune",
    (t) => t.replace("npm prune --omit=dev --ignore-scripts", "true"),
    /dev dependencies must be pruned/,
  ],
  ["EXPOSE", (t) => t.replace("EXPOSE 8080", "EXPOSE 3000"), /EXPOSE 8080 missing/],
  [
    "shell ENTRYPOINT",
    (t) => t.replace('ENTRYPOINT ["node", "dist/cli/main.js"]', "ENTRYPOINT node dist/cli/main.js"),
    /ENTRYPOINT must be the exec form/,
  ],
  ["CMD", (t) => t.replace('CMD ["serve"]', 'CMD ["dev"]'), /CMD must be \["serve"/],
  [
    "missing COPY source",
    (t) => t.replace("COPY src ./src", "COPY source ./src"),
    /COPY source source does not exist/,
  ],
  [
    "bad --from",
    (t) => t.replace("COPY --from=build /app/dist", "COPY --from=builder /app/dist"),
    /COPY --from=builder is not an earlier stage/,
  ],
  [
    "source in runtime",
    (t) => t.replace("COPY policies ./policies", "COPY policies ./policies\nCOPY src ./src"),
    /final stage copies src/,
  ],
  ["ignored COPY source", (t) => t, /COPY source src is excluded by \.dockerignore/, (i) => `${i}\nsrc\n`],
  [
    "node_modules in context",
    (t) => t,
    /\.dockerignore must exclude node_modules/,
    (i) => i.replace(/^node_modules$/m, ""),
  ],
];

describe("Dockerfile checks fail on a broken Dockerfile", () => {
  const text = readDockerfile();
  const ignore = readDockerignore();
  for (const [name, mutate, expected, mutateIgnore] of dockerMutations) {
    it(name, () => {
      const changed = mutate(text);
      const changedIgnore = mutateIgnore ? mutateIgnore(ignore) : ignore;
      assert.ok(changed !== text || changedIgnore !== ignore, "the mutation changed nothing");
      assertReports(dockerfileProblems(changed, changedIgnore), expected);
    });
  }
});
