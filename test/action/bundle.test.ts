import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { ACTION_BUNDLE, buildActionBundle } from "../../action/build.ts";

describe("action/dist/index.js", () => {
  it("is what `npm run build:action` builds from the sources today (commit it after a change)", async () => {
    const fresh = await buildActionBundle();
    const committed = readFileSync(ACTION_BUNDLE, "utf8");
    assert.ok(committed === fresh, "action/dist/index.js is stale: run `npm run build:action` and commit it");
  });

  it("is the file action.yml runs, on node24", () => {
    const yml = readFileSync(new URL("../../action.yml", import.meta.url), "utf8");
    assert.match(yml, /^ {2}using: node24$/m);
    assert.match(yml, /^ {2}main: action\/dist\/index\.js$/m);
  });
});
