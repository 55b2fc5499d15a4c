import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { describe, it } from "node:test";
import ts from "typescript";

/**
 * What a newcomer reads is true of this repository: the README and docs/ link only to files that exist and cite
 * no document that is not here, and no message the broker or its CLI shows cites a section of one (an RFC's
 * section is a citation a reader can follow; a private document's is not).
 */
const ROOT = join(import.meta.dirname, "..", "..");
const DOCS = ["README.md", ...readdirSync(join(ROOT, "docs")).map((f) => join("docs", f))].filter((f) =>
  f.endsWith(".md"),
);
/** Documents of the team that wrote the broker, not part of the repository. */
const ABSENT = /CONTRACT(\.md)?|STYLE\.md|HELPERS\.md|\.\.\/shared\b|shared\/fixtures/;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

/** The text of every string and template literal of a TypeScript file (comments excluded). */
function literals(text: string): string[] {
  const scanner = ts.createScanner(ts.ScriptTarget.Latest, false, ts.LanguageVariant.Standard, text);
  const found: string[] = [];
  // Open braces inside each `${…}` of the templates being read: its closing brace resumes the template.
  const braces: number[] = [];
  for (let k = scanner.scan(); k !== ts.SyntaxKind.EndOfFileToken; k = scanner.scan()) {
    const open = braces.pop();
    if (open !== undefined) {
      if (k === ts.SyntaxKind.OpenBraceToken) braces.push(open + 1);
      else if (k === ts.SyntaxKind.CloseBraceToken && open === 0) k = scanner.reScanTemplateToken(false);
      else braces.push(k === ts.SyntaxKind.CloseBraceToken ? open - 1 : open);
    }
    // A template's head opens its first `${`; a middle closes one and opens the next; its tail closes the last.
    if (k === ts.SyntaxKind.TemplateHead || k === ts.SyntaxKind.TemplateMiddle) braces.push(0);
    if (
      k === ts.SyntaxKind.StringLiteral ||
      k === ts.SyntaxKind.NoSubstitutionTemplateLiteral ||
      k === ts.SyntaxKind.TemplateHead ||
      k === ts.SyntaxKind.TemplateMiddle ||
      k === ts.SyntaxKind.TemplateTail
    )
      found.push(scanner.getTokenValue());
  }
  return found;
}

describe("README and docs tell a newcomer the truth", () => {
  for (const doc of DOCS) {
    const text = readFileSync(join(ROOT, doc), "utf8");
    it(`${doc} cites no document that is not in the repository`, () => {
      const lines = text.split("\n").filter((l) => ABSENT.test(l));
      assert.deepEqual(lines, []);
    });
    it(`${doc} runs the CLI from the checkout or an install, never through npx (no registry package)`, () => {
      assert.deepEqual(
        text.split("\n").filter((l) => /\bnpx (--\S+ )*wif-broker\b/.test(l)),
        [],
      );
    });
    it(`${doc} links only to files that exist`, () => {
      for (const [, target] of text.matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)) {
        if (!target || /^[a-z]+:/.test(target)) continue;
        assert.ok(existsSync(join(ROOT, dirname(doc), target)), `${doc} → ${target}`);
      }
    });
  }

  it("no message in src cites a section of a document other than an RFC, draft or standard", () => {
    const offending: string[] = [];
    for (const file of sourceFiles(join(ROOT, "src"))) {
      for (const s of literals(readFileSync(file, "utf8"))) {
        const uncited = s.replace(/(RFC \d+|draft-[\w-]+|FIPS [\d-]+|SEC \d|OpenID [\w .]+?)\s*§/g, "");
        if (/CONTRACT/.test(s) || uncited.includes("§")) offending.push(`${relative(ROOT, file)}: ${s}`);
      }
    }
    assert.deepEqual(offending, []);
  });

  it("the scanner finds literals, and would find a contract citation in one", () => {
    const source = 'const a = "x (CONTRACT §2)"; // CONTRACT §3\nconst b = `t $' + "{ { a }.a } u`;";
    assert.deepEqual(literals(source), ["x (CONTRACT §2)", "t ", " u"]);
  });
});
