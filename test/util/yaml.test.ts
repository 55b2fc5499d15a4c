import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { loadAll } from "js-yaml";
import { parseYamlDocuments, YamlError, yamlDocuments } from "../../src/util/yaml.ts";

const docText = fc.oneof(
  fc.constant("a: 1\n"),
  fc.constant("# only a comment\n"),
  fc.constant(""),
  fc.constant("s: |\n  ---\n  block text\n"),
  fc.constant('q: "a\n  --- b"\n'),
  fc.constant("list:\n  - x\n  - ---y\n"),
  fc.constant("k: v\n...\n"),
  fc.constant("--- inline: doc\n"),
  fc.constant("--- [flow, doc]\n"),
  fc.constant("----: four dashes\n"),
);

describe("yamlDocuments: one document at a time", () => {
  it("yields exactly the documents js-yaml parses from the whole source (and fails where it fails)", () => {
    fc.assert(
      fc.property(fc.array(docText, { maxLength: 8 }), fc.boolean(), (docs, leading) => {
        const text = (leading ? "---\n" : "") + docs.join("---\n");
        let whole: unknown[] | undefined;
        try {
          whole = loadAll(text, { maxAliases: 0 });
        } catch {
          whole = undefined;
        }
        if (whole === undefined) assert.throws(() => [...yamlDocuments(text)], YamlError);
        else assert.deepEqual([...yamlDocuments(text)], whole);
      }),
    );
  });

  it("reports a syntax error at its line in the whole file, not in the document", () => {
    const text = "a: 1\n---\nb: 2\n---\nc: [unclosed\n";
    assert.throws(
      () => parseYamlDocuments(text),
      (e) => e instanceof YamlError && e.line !== undefined && e.line >= 5,
    );
  });

  it("still refuses aliases in every document", () => {
    assert.throws(() => parseYamlDocuments("a: 1\n---\nx: &a 1\ny: *a\n"), YamlError);
  });
});
