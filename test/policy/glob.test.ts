import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { compileGlob } from "../../src/policy/glob.ts";

describe("glob matcher", () => {
  const rows: Array<[string, string, boolean]> = [
    ["refs/heads/*", "refs/heads/main", true],
    ["refs/heads/*", "refs/heads/a/b", false],
    ["refs/heads/**", "refs/heads/a/b", true],
    ["refs/**/v1", "refs/tags/x/v1", true],
    ["refs/*", "refs/", true],
    ["v?.?", "v1.2", true],
    ["v?", "v/", false],
    ["a.b", "axb", false],
    ["[abc]", "[abc]", true],
    ["", "", true],
    ["", "x", false],
    ["**", "", true],
    ["*", "a/b", false],
    ["😀?", "😀é", true],
  ];
  for (const [glob, text, expected] of rows) {
    it(`${JSON.stringify(glob)} ${expected ? "matches" : "does not match"} ${JSON.stringify(text)}`, () => {
      assert.equal(compileGlob(glob)(text), expected);
    });
  }

  it("runs in linear time on patterns that make backtracking matchers explode", () => {
    const glob = compileGlob(`${"*a".repeat(30)}*b`);
    const text = "a".repeat(5000);
    const t = performance.now();
    assert.equal(glob(text), false);
    // A backtracking matcher needs ~5000^30 steps here; the NFA needs 5000 × 61.
    assert.ok(performance.now() - t < 1000);
  });
});
