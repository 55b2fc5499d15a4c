import { existsSync } from "node:fs";
import { relative, resolve } from "node:path";
import { parseReplayLine, type SkipReason } from "../audit/replay.ts";
import { CHANGE_KINDS, type ChangeKind, compareDecisions } from "../policy/diff.ts";
import { decide } from "../policy/evaluate.ts";
import { formatProblem } from "../policy/parse.ts";
import type { PolicySet } from "../policy/policy-set.ts";
import { compileAt, policyContext } from "./policy-context.ts";
import { type LineProgress, readAuditLines } from "./policy-diff/audit-lines.ts";
import { ChangeStore } from "./policy-diff/change-store.ts";
import { startProgress } from "./policy-diff/progress.ts";
import { type DiffFormat, type DiffSummary, renderDiff } from "./policy-diff/render.ts";
import { CliError, parseFlags } from "./shared.ts";

export const DIFF_USAGE = `Usage: wif-broker policy diff --base DIR --head DIR --audit FILE… [--config F]
                              [--format text|json|github] [--allow-widening]

Replays the requests recorded in audit files written with audit: {claims: true} against the base and the head
policy set, and prints every request whose outcome changes, grouped by policy, with its request id and sub.
Exit 0: no widening; 1: a previously denied request would be allowed (unless --allow-widening);
2: bad usage, a policy set that does not compile, or no replayable request in the audit files.`;

export interface DiffIo {
  stdout: (text: string) => void;
  stderr: NodeJS.WriteStream;
}

const FORMATS: readonly DiffFormat[] = ["text", "json", "github"];

function compileSide(label: string, dir: string, ctx: ReturnType<typeof policyContext>): PolicySet {
  const path = resolve(dir);
  if (!existsSync(path)) throw new CliError(`--${label} ${path}: no such file or directory`, 2);
  const { set, problems } = compileAt(path, ctx);
  if (problems.length > 0) {
    throw new CliError(`${label} policies do not compile:\n${problems.map(formatProblem).join("\n")}`, 2);
  }
  return set;
}

export async function runPolicyDiff(argv: string[], io: DiffIo): Promise<number> {
  const { values, positionals } = parseFlags(
    argv,
    {
      base: { type: "string" },
      head: { type: "string" },
      audit: { type: "string", multiple: true },
      config: { type: "string" },
      format: { type: "string", default: "text" },
      "allow-widening": { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
    true,
  );
  if (values.help) {
    io.stdout(DIFF_USAGE);
    return 0;
  }
  const files = [...(values.audit ?? []), ...positionals];
  if (!values.base || !values.head || files.length === 0)
    throw new CliError(`--base, --head and --audit are required\n${DIFF_USAGE}`);
  const format = values.format as DiffFormat;
  if (!FORMATS.includes(format)) throw new CliError(`--format must be one of ${FORMATS.join(", ")}`);

  const ctx = policyContext(values.base, values.config);
  const base = compileSide("base", values.base, ctx);
  const head = compileSide("head", values.head, ctx);

  const store = new ChangeStore();
  const counts = Object.fromEntries(CHANGE_KINDS.map((k) => [k, 0])) as Record<ChangeKind, number>;
  const skipped: Partial<Record<SkipReason | "too_long", number>> = {};
  const progress: LineProgress = { bytesRead: 0, bytesTotal: 0, lines: 0 };
  let replayed = 0;
  let changed = 0;
  const stopProgress = startProgress(io.stderr, progress);
  try {
    try {
      for await (const batch of readAuditLines(files, progress)) {
        for (const line of batch) {
          const parsed = line === null ? ({ ok: false, skip: "too_long" } as const) : parseReplayLine(line);
          if (!parsed.ok) {
            skipped[parsed.skip] = (skipped[parsed.skip] ?? 0) + 1;
            continue;
          }
          replayed++;
          const { record } = parsed;
          const change = compareDecisions(
            decide(base, record.who, record.request, ctx.limits),
            decide(head, record.who, record.request, ctx.limits),
          );
          if (!change) continue;
          changed++;
          for (const k of change.kinds) counts[k]++;
          store.add(change.policy, {
            requestId: record.requestId,
            sub: record.sub,
            audience: record.request.audience,
            kinds: change.kinds,
            detail: change.detail,
          });
        }
      }
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "EISDIR" || code === "EACCES" || code === "Z_DATA_ERROR")
        throw new CliError(`cannot read the audit files: ${(e as Error).message}`, 2);
      throw e;
    } finally {
      stopProgress();
    }
    const summary: DiffSummary = {
      lines: progress.lines,
      replayed,
      changed,
      counts,
      skipped,
      widening: counts.widening > 0,
      allowWidening: values["allow-widening"],
    };
    const fileOf = (policy: string) => {
      const p = head.policies.find((x) => x.name === policy) ?? base.policies.find((x) => x.name === policy);
      return p ? relative(process.cwd(), p.source.file) : undefined;
    };
    renderDiff(format, { summary, store, fileOf, write: io.stdout });
    if (replayed === 0) {
      io.stderr.write(
        "wif-broker: no replayable request in the audit files (were they written with audit: {claims: true}?)\n",
      );
      return 2;
    }
    return summary.widening && !summary.allowWidening ? 1 : 0;
  } finally {
    store.close();
  }
}
