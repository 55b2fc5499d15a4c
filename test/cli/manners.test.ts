/**
 * CONTRACT §6 CLI manners: `--help` on every command and subcommand (stdout, `Usage: wif-broker …`, exit 0),
 * `--version`, and a command that cannot start exits non-zero with one plain line, without hanging.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { USAGES } from "../../src/cli/usage.ts";
import { CLI, type CliResult } from "../helpers/cli.ts";

/** Spawned without blocking: a command that hangs is killed after 20 s and reported as `code: null`. */
function cli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { PATH: process.env.PATH ?? "", HOME: tmpdir(), ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => {
    stdout += d;
  });
  child.stderr.setEncoding("utf8").on("data", (d: string) => {
    stderr += d;
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The last stderr line is the failure: plain text (not a JSON log line), no stack frame anywhere. */
function assertOnePlainLine(r: CliResult, pattern: RegExp) {
  assert.notEqual(r.code, null, "exits instead of hanging");
  assert.notEqual(r.code, 0);
  const lines = r.stderr.trimEnd().split("\n");
  const last = lines.at(-1) ?? "";
  assert.match(last, pattern);
  assert.doesNotMatch(last, /^\{/);
  assert.doesNotMatch(r.stderr, /^\s+at /m, "no stack trace");
  assert.equal(lines.filter((l) => l.startsWith("wif-broker:")).length, 1, "one error line");
}

describe("CLI manners", () => {
  const commands = Object.keys(USAGES).filter((k) => k !== "");

  it("--help and -h on every command and subcommand: usage on stdout, exit 0", async () => {
    for (const words of [[], ...commands.map((c) => c.split(" "))]) {
      for (const flag of ["--help", "-h"]) {
        const r = await cli([...words, flag]);
        assert.equal(r.code, 0, `${words.join(" ")} ${flag}: ${r.stderr}`);
        assert.equal(r.stderr, "");
        assert.match(r.stdout, new RegExp(`^Usage: wif-broker ${words.join(" ")}`), words.join(" "));
      }
    }
  });

  it("--help after other arguments still answers with that subcommand's usage", async () => {
    const r = await cli(["policy", "validate", "policies", "--strict", "--help"]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^Usage: wif-broker policy validate /);
  });

  it("--version prints the package version", async () => {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
      version: string;
    };
    const r = await cli(["--version"]);
    assert.deepEqual(r, { code: 0, stdout: `wif-broker ${pkg.version}\n`, stderr: "" });
  });

  describe("a command that cannot start", () => {
    let taken: Server;
    let port = 0;
    before(async () => {
      taken = createServer();
      await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
      const address = taken.address();
      assert.ok(address !== null && typeof address === "object");
      port = address.port;
    });
    after(() => new Promise<void>((resolve) => taken.close(() => resolve())));

    it("dev with its port taken: exit 1, one plain line, no hang", async () => {
      const r = await cli(["dev", "--port", String(port)]);
      assertOnePlainLine(r, new RegExp(`^wif-broker: cannot listen on 127\\.0\\.0\\.1:${port}: EADDRINUSE$`));
    });

    it("serve with its port taken: exit 1, one plain line", async () => {
      const dir = mkdtempSync(join(tmpdir(), "wif-manners-"));
      const config = join(dir, "wif-broker.yaml");
      const policies = join(dir, "policies");
      mkdirSync(policies);
      writeFileSync(
        config,
        `issuer: https://b.example\npolicies: ${policies}\nlisten: { host: 127.0.0.1, port: ${port} }\n`,
      );
      const r = await cli(["serve", "--config", config]);
      assertOnePlainLine(r, new RegExp(`^wif-broker: cannot listen on 127\\.0\\.0\\.1:${port}: EADDRINUSE$`));
    });

    it("serve with a bad config: exit 1, one line naming the file and the key", async () => {
      const dir = mkdtempSync(join(tmpdir(), "wif-manners-"));
      const config = join(dir, "wif-broker.yaml");
      writeFileSync(config, "issuer: https://b.example\nlisten: { prot: 1 }\n");
      const r = await cli(["serve", "--config", config]);
      assertOnePlainLine(r, /^wif-broker: .*wif-broker\.yaml: .*prot/);
    });
  });
});
