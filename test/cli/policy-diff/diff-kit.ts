import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runPolicyDiff } from "../../../src/cli/policy-diff.ts";

export const tmp = (prefix = "wif-diff-") => mkdtempSync(join(tmpdir(), prefix));

/** A policy directory holding `yaml` as policies.yaml. */
export function policyDir(yaml: string): string {
  const dir = tmp("wif-diff-policies-");
  writeFileSync(join(dir, "policies.yaml"), yaml);
  return dir;
}

export const policy = (name: string, body: string) => `---
apiVersion: wif-broker/v1
kind: TrustPolicy
metadata: { name: ${name} }
spec:
  provider: github
${body}`;

/** An audit line as the broker writes it with audit: {claims: true} (CONTRACT §7). */
export function auditLine(
  requestId: string,
  claims: Record<string, unknown>,
  request: { audience: string; scope?: string; source_ip?: string },
): string {
  return JSON.stringify({
    time: "2026-12-01T09:00:00.000Z",
    request_id: requestId,
    decision: "allow",
    reason: "granted",
    status: 200,
    provider: "github",
    iss: "https://token.actions.githubusercontent.com",
    sub: claims.sub,
    audience: request.audience,
    latency_ms: 1,
    claims,
    request: { ...request, time: "2026-12-01T09:00:00.000Z" },
  });
}

export interface DiffRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** A stand-in for process.stderr that keeps what is written (progress is drawn only when `isTTY`). */
export function capturedStderr(isTTY: boolean): { stream: NodeJS.WriteStream; text: () => string } {
  let text = "";
  const stream = {
    isTTY,
    write: (s: string) => {
      text += s;
      return true;
    },
  } as unknown as NodeJS.WriteStream;
  return { stream, text: () => text };
}

/** Runs `policy diff` in this process, collecting its output. */
export async function diff(argv: string[], stderrIsTTY = false): Promise<DiffRun> {
  let stdout = "";
  const stderr = capturedStderr(stderrIsTTY);
  const code = await runPolicyDiff(argv, {
    stdout: (s) => {
      stdout += `${s}\n`;
    },
    stderr: stderr.stream,
  });
  return { code, stdout, stderr: stderr.text() };
}
