import { CHANGE_KINDS, CHANGE_LABEL, type ChangeKind } from "../../policy/diff.ts";
import { withoutControlCharacters } from "../exchange/control-characters.ts";
import type { ChangedRequest, ChangeGroup, ChangeStore } from "./change-store.ts";

export type DiffFormat = "text" | "json" | "github";

export interface DiffSummary {
  lines: number;
  replayed: number;
  changed: number;
  counts: Record<ChangeKind, number>;
  skipped: Record<string, number>;
  widening: boolean;
  allowWidening: boolean;
}

export interface RenderContext {
  summary: DiffSummary;
  store: ChangeStore;
  /** The policy file a group's annotation points at (head's, else base's), relative to the repository. */
  fileOf: (policy: string) => string | undefined;
  write: (text: string) => void;
}

const countsText = (counts: Record<ChangeKind, number>) =>
  CHANGE_KINDS.filter((k) => counts[k] > 0)
    .map((k) => `${counts[k]} ${CHANGE_LABEL[k]}`)
    .join(", ");

const skippedText = (skipped: Record<string, number>) => {
  const parts = Object.entries(skipped).map(([why, n]) => `${n} ${why.replaceAll("_", " ")}`);
  return parts.length === 0 ? "" : `; skipped ${parts.join(", ")}`;
};

const safe = withoutControlCharacters;
const changeLine = (c: ChangedRequest) =>
  `${c.kinds.map((k) => CHANGE_LABEL[k]).join(", ")}  request ${safe(c.requestId)}  sub ${safe(c.sub)}  audience ${safe(c.audience)}: ${c.detail}`;

function summaryLine(s: DiffSummary): string {
  const changed = s.changed === 0 ? "no decision changes" : `${s.changed} changed (${countsText(s.counts)})`;
  return `policy diff: ${s.lines} audit lines, ${s.replayed} requests replayed, ${changed}${skippedText(s.skipped)}`;
}

function wideningLine(s: DiffSummary): string | undefined {
  if (!s.widening) return undefined;
  const n = s.counts.widening;
  const which = `${n} previously denied ${n === 1 ? "request" : "requests"} would be allowed`;
  return s.allowWidening
    ? `${which} (accepted with --allow-widening)`
    : `${which}: widening (pass --allow-widening to accept)`;
}

function renderText(r: RenderContext): void {
  r.write(summaryLine(r.summary));
  for (const g of r.store.groups()) {
    r.write("");
    r.write(`${safe(g.policy)}: ${g.total} changed (${countsText(g.counts)})`);
    for (const c of r.store.changes(g.policy)) r.write(`  ${changeLine(c)}`);
  }
  const w = wideningLine(r.summary);
  if (w) r.write(`\n${w}`);
}

/** One JSON document, written as it goes (a large diff is never built as one object). */
function renderJson(r: RenderContext): void {
  r.write(`{"summary":${JSON.stringify(r.summary)},"groups":[`);
  r.store.groups().forEach((g: ChangeGroup, i) => {
    const head = JSON.stringify({ policy: g.policy, total: g.total, counts: g.counts });
    r.write(`${i > 0 ? "," : ""}${head.slice(0, -1)},"changes":[`);
    let first = true;
    for (const c of r.store.changes(g.policy)) {
      r.write(`${first ? "" : ","}${JSON.stringify(c)}`);
      first = false;
    }
    r.write("]}");
  });
  r.write("]}");
}

// GitHub Actions workflow commands: data escapes %, CR and LF; properties also ':' and ','.
const ghData = (s: string) => s.replaceAll("%", "%25").replaceAll("\r", "%0D").replaceAll("\n", "%0A");
const ghProperty = (s: string) => ghData(s).replaceAll(":", "%3A").replaceAll(",", "%2C");

/**
 * Annotations for a required pull-request check: one per policy whose decisions change (an error when it widens,
 * else a warning) on the policy's file, each change in a collapsible log group, and the summary as a notice.
 */
function renderGithub(r: RenderContext): void {
  for (const g of r.store.groups()) {
    r.write(`::group::${ghData(`${g.policy}: ${g.total} changed (${countsText(g.counts)})`)}`);
    const examples: string[] = [];
    for (const c of r.store.changes(g.policy)) {
      r.write(ghData(changeLine(c)));
      if (examples.length < 3) examples.push(`${c.requestId} (sub ${c.sub})`);
    }
    r.write("::endgroup::");
    const widens = g.counts.widening > 0;
    const level = widens && !r.summary.allowWidening ? "error" : "warning";
    const file = r.fileOf(g.policy);
    const props = [
      ...(file ? [`file=${ghProperty(file)}`] : []),
      `title=${ghProperty(`policy diff: ${g.policy}${widens ? " widens access" : " changes decisions"}`)}`,
    ].join(",");
    const message = `${g.total} recorded requests change (${countsText(g.counts)}), e.g. ${examples.join(", ")}`;
    r.write(`::${level} ${props}::${ghData(message)}`);
  }
  const w = wideningLine(r.summary);
  r.write(
    `::notice title=policy diff::${ghData(w ? `${summaryLine(r.summary)}. ${w}` : summaryLine(r.summary))}`,
  );
}

export function renderDiff(format: DiffFormat, r: RenderContext): void {
  if (format === "json") renderJson(r);
  else if (format === "github") renderGithub(r);
  else renderText(r);
}
