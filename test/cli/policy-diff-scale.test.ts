import assert from "node:assert/strict";
import { createWriteStream, rmSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { runPolicyDiff } from "../../src/cli/policy-diff.ts";
import { capturedStderr, policy, policyDir, tmp } from "./policy-diff/diff-kit.ts";

const LINES = 1_000_000;
/** Every tenth request widens: 100,000 changes, so the change store spills to disk too. */
const WIDENING_EVERY = 10;
/** Heap growth allowed while replaying about 200 MB of audit lines (measured in this process). */
const HEAP_BOUND_BYTES = 96 * 1024 * 1024;

async function writeAuditFile(file: string): Promise<void> {
  const out = createWriteStream(file);
  const batch: string[] = [];
  for (let i = 0; i < LINES; i++) {
    const ref = i % WIDENING_EVERY === 0 ? "refs/heads/feature" : "refs/heads/main";
    const sub = `repo:octo-org/app-${i % 1000}:ref:${ref}`;
    // The fields `policy diff` reads, as the broker writes them with audit: {claims: true}.
    batch.push(
      `{"time":"2026-12-01T09:00:00.000Z","request_id":"r${i}","provider":"github","sub":"${sub}","claims":{"sub":"${sub}","repository_owner_id":"65","ref":"${ref}"},"request":{"audience":"https://deploy"}}`,
    );
    if (batch.length === 10_000) {
      if (!out.write(`${batch.join("\n")}\n`)) await new Promise<void>((r) => out.once("drain", () => r()));
      batch.length = 0;
    }
  }
  await new Promise<void>((resolve, reject) =>
    out.end(`${batch.join("\n")}\n`, () => resolve()).on("error", reject),
  );
}

describe("wif-broker policy diff at scale", () => {
  it("replays a million audit lines in bounded memory", async (t) => {
    const base = policyDir(
      policy(
        "p",
        `  match: { repository_owner_id: "65", ref: refs/heads/main }\n  grant: { targets: [{ audience: https://deploy }] }\n`,
      ),
    );
    const head = policyDir(
      policy(
        "p",
        `  match: { repository_owner_id: "65", ref: { glob: "refs/heads/*" } }\n  grant: { targets: [{ audience: https://deploy }] }\n`,
      ),
    );
    const dir = tmp();
    const file = join(dir, "audit.log");
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    await writeAuditFile(file);

    globalThis.gc?.();
    const baseline = process.memoryUsage().heapUsed;
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().heapUsed);
    }, 20);
    let outputLines = 0;
    let summary = "";
    const stderr = capturedStderr(true);
    try {
      const code = await runPolicyDiff(["--base", base, "--head", head, "--audit", file], {
        stdout: (s) => {
          if (outputLines++ === 0) summary = s;
        },
        stderr: stderr.stream,
      });
      assert.equal(code, 1);
    } finally {
      clearInterval(sampler);
    }
    peak = Math.max(peak, process.memoryUsage().heapUsed);
    assert.match(
      summary,
      /^policy diff: 1000000 audit lines, 1000000 requests replayed, 100000 changed \(100000 deny→allow\)/,
    );
    // Summary, blank line, group header, one line per change, blank line, widening line.
    assert.equal(outputLines, 3 + 100_000 + 1);
    assert.match(
      stderr.text(),
      /replaying: \d+ lines, [\d.]+ of [\d.]+ MiB \(\d+%\)/,
      "progress on a terminal",
    );
    const growth = peak - baseline;
    assert.ok(growth < HEAP_BOUND_BYTES, `heap grew by ${Math.round(growth / 1048576)} MiB`);
  });
});
