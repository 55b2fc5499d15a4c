import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "../observability/log.ts";
import type { Metrics } from "../observability/metrics.ts";
import { lintPolicy } from "../policy/lint.ts";
import {
  type CompileOptions,
  compilePolicyFiles,
  formatProblem,
  type PolicyFile,
  type PolicyProblem,
} from "../policy/parse.ts";
import { PolicySet } from "../policy/policy-set.ts";
import { type PathWatch, watchPath } from "./watch-path.ts";

/** Policy files under a path: a file, or every *.yaml / *.yml in a directory tree except *.test.yaml fixtures. */
export function readPolicyFiles(path: string): PolicyFile[] {
  const stat = statSync(path);
  if (stat.isFile()) return [{ path, text: readFileSync(path, "utf8") }];
  const files: PolicyFile[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      const full = join(dir, entry.name);
      // Kubernetes ConfigMap mounts keep data in hidden ..data/ dirs behind symlinks: follow visible entries only.
      if (entry.name.startsWith(".")) continue;
      const target = statSync(full);
      if (target.isDirectory() && !entry.isSymbolicLink()) walk(full);
      else if (target.isFile() && /\.ya?ml$/.test(entry.name) && !/\.test\.ya?ml$/.test(entry.name)) {
        files.push({ path: full, text: readFileSync(full, "utf8") });
      }
    }
  };
  walk(path);
  return files;
}

export interface PolicySourceOptions extends CompileOptions {
  /** Provider name → issuer, so lint knows which providers are multi-tenant platforms. */
  providerIssuers?: ReadonlyMap<string, string>;
}

export interface PolicySourceStatus {
  ok: boolean;
  policies: number;
  lastReload?: string;
  lastError?: string;
}

/**
 * The serving policy set and its reloads. A reload compiles the complete new set first and swaps it in only when
 * every file is valid, so no request ever sees a half-loaded set; a broken file keeps the last good set serving.
 */
export class PolicySource {
  #set: PolicySet | undefined;
  #status: PolicySourceStatus = { ok: false, policies: 0 };
  #watch: PathWatch | undefined;
  readonly #path: string;
  readonly #options: PolicySourceOptions;
  readonly #logger: Logger;
  readonly #metrics: Metrics | undefined;

  constructor(path: string, options: PolicySourceOptions, logger: Logger, metrics?: Metrics) {
    this.#path = path;
    this.#options = options;
    this.#logger = logger;
    this.#metrics = metrics;
  }

  /** The current set; an empty set (deny everything) before the first successful load. */
  current = (): PolicySet => this.#set ?? EMPTY;

  status(): PolicySourceStatus {
    return this.#status;
  }

  /** Returns the problems found; the serving set changes only when there are none. */
  reload(): PolicyProblem[] {
    let files: PolicyFile[];
    let problems: PolicyProblem[];
    let set: PolicySet | undefined;
    try {
      files = readPolicyFiles(this.#path);
      const result = compilePolicyFiles(files, this.#options);
      problems = result.problems;
      set = result.set;
    } catch (e) {
      files = [];
      problems = [
        {
          file: this.#path,
          document: 0,
          path: "(file)",
          message: e instanceof Error ? e.message : "cannot be read",
        },
      ];
    }
    const now = new Date().toISOString();
    if (problems.length > 0 || !set) {
      for (const p of problems)
        this.#logger.error({ file: p.file, path: p.path }, `policy rejected: ${formatProblem(p)}`);
      this.#metrics?.policyReloads.inc({ result: "error" });
      this.#status = {
        ...this.#status,
        lastError: `${problems.length} problem(s); first: ${problems[0] ? formatProblem(problems[0]) : "unknown"}`,
      };
      return problems;
    }
    this.#set = set;
    this.#metrics?.policyReloads.inc({ result: "ok" });
    this.#metrics?.policiesLoaded.set(set.size);
    this.#status = { ok: true, policies: set.size, lastReload: now };
    this.#logger.info({ policies: set.size, path: this.#path }, "policies loaded");
    // Lint findings do not block loading (validate --strict is the gate); they are logged on every load.
    const providerIssuers = this.#options.providerIssuers ?? new Map<string, string>();
    for (const p of set.policies) {
      for (const f of lintPolicy(p.spec, { providerIssuers })) {
        this.#logger.warn(
          { policy: p.name, file: p.source.file, path: f.path, rule: f.rule },
          `policy lint: ${f.message}`,
        );
      }
    }
    return [];
  }

  /** Reloads on change (debounced), so an editor's save or a ConfigMap/Secret update takes effect. */
  watch(debounceMs = 250): void {
    this.#watch = watchPath(
      this.#path,
      "policy path",
      { recursive: true, debounceMs },
      () => this.reload(),
      this.#logger,
    );
  }

  close(): void {
    this.#watch?.close();
  }
}

const EMPTY = new PolicySet([]);
