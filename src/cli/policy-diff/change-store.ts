import { appendFileSync, closeSync, mkdtempSync, openSync, readSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { StringDecoder } from "node:string_decoder";
import { CHANGE_KINDS, type ChangeKind } from "../../policy/diff.ts";

/** One changed request, as every output format prints it. */
export interface ChangedRequest {
  requestId: string;
  sub: string;
  audience: string;
  kinds: ChangeKind[];
  detail: string;
}

export interface ChangeGroup {
  policy: string;
  total: number;
  counts: Record<ChangeKind, number>;
}

const zeroCounts = (): Record<ChangeKind, number> =>
  Object.fromEntries(CHANGE_KINDS.map((k) => [k, 0])) as Record<ChangeKind, number>;

/** Changes held in memory before they go to the group's spill file. */
const MEMORY_BUDGET = 10_000;

/**
 * Changes grouped by policy, in bounded memory: counts live in memory, the changes themselves are appended to
 * one spill file per group (JSON lines in a private temp dir) whenever more than MEMORY_BUDGET are held, and read
 * back one group at a time when printed. A million changed requests cost a spill file, not a heap.
 */
export class ChangeStore {
  readonly #groups = new Map<string, ChangeGroup & { held: ChangedRequest[]; file: string | undefined }>();
  #held = 0;
  #dir: string | undefined;
  #files = 0;

  add(policy: string, change: ChangedRequest): void {
    let g = this.#groups.get(policy);
    if (!g) {
      g = { policy, total: 0, counts: zeroCounts(), held: [], file: undefined };
      this.#groups.set(policy, g);
    }
    g.total++;
    for (const k of change.kinds) g.counts[k]++;
    g.held.push(change);
    if (++this.#held > MEMORY_BUDGET) this.#spill();
  }

  /** Groups sorted by policy name. */
  groups(): ChangeGroup[] {
    return [...this.#groups.values()]
      .map(({ policy, total, counts }) => ({ policy, total, counts }))
      .sort((a, b) => (a.policy < b.policy ? -1 : a.policy > b.policy ? 1 : 0));
  }

  totals(): Record<ChangeKind, number> {
    const all = zeroCounts();
    for (const g of this.#groups.values()) for (const k of CHANGE_KINDS) all[k] += g.counts[k];
    return all;
  }

  /** The group's changes in the order they were added. */
  *changes(policy: string): Generator<ChangedRequest> {
    const g = this.#groups.get(policy);
    if (!g) return;
    if (g.file) yield* readJsonLines(g.file);
    yield* g.held;
  }

  close(): void {
    if (this.#dir) rmSync(this.#dir, { recursive: true, force: true });
  }

  #spill(): void {
    this.#dir ??= mkdtempSync(join(tmpdir(), "wif-policy-diff-"));
    for (const g of this.#groups.values()) {
      if (g.held.length === 0) continue;
      g.file ??= join(this.#dir, `group-${this.#files++}.jsonl`);
      appendFileSync(g.file, `${g.held.map((c) => JSON.stringify(c)).join("\n")}\n`, { mode: 0o600 });
      g.held = [];
    }
    this.#held = 0;
  }
}

/** JSON lines of a spill file, read in 1 MiB slices (memory: a slice and one line). */
function* readJsonLines(file: string): Generator<ChangedRequest> {
  const fd = openSync(file, "r");
  const buffer = Buffer.alloc(1024 * 1024);
  const decoder = new StringDecoder("utf8");
  let rest = "";
  try {
    for (let n = readSync(fd, buffer); n > 0; n = readSync(fd, buffer)) {
      const lines = (rest + decoder.write(buffer.subarray(0, n))).split("\n");
      rest = lines.pop() ?? "";
      for (const line of lines) if (line) yield JSON.parse(line) as ChangedRequest;
    }
  } finally {
    closeSync(fd);
  }
}
