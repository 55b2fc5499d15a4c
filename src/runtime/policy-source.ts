import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { ProviderConfig } from "../config/schema.ts";
import type { Logger } from "../observability/log.ts";
import type { Metrics } from "../observability/metrics.ts";
import {
  type CompileOptions,
  compilePolicyFiles,
  formatProblem,
  type PolicyFile,
  type PolicyFinding,
  type PolicyProblem,
} from "../policy/parse.ts";
import type { ProviderFacts } from "../policy/platforms.ts";
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

export type PolicySourceOptions = CompileOptions;

/** What the policy compiler needs to know of the config's providers: issuer, declared claims, TokenReview. */
export function providerFacts(config: {
  providers: ReadonlyArray<Pick<ProviderConfig, "name" | "issuer"> & Partial<ProviderConfig>>;
}): ProviderFacts[] {
  return config.providers.map((p) => ({
    name: p.name,
    issuer: p.issuer,
    ...(p.claims === undefined ? {} : { claims: p.claims }),
    ...(p.kubernetes?.tokenReview ? { kubernetes: true } : {}),
  }));
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
  #files: readonly PolicyFile[] = [];
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

  /** The files of the serving set, as read (the playground shows and compiles them in the browser). */
  files = (): readonly PolicyFile[] => this.#files;

  status(): PolicySourceStatus {
    return this.#status;
  }

  /** Returns the problems found; the serving set changes only when there are none. */
  reload(): PolicyProblem[] {
    let files: PolicyFile[];
    let problems: PolicyProblem[];
    let set: PolicySet | undefined;
    let findings: PolicyFinding[] = [];
    try {
      files = readPolicyFiles(this.#path);
      const result = compilePolicyFiles(files, this.#options);
      problems = result.problems;
      set = result.set;
      findings = result.findings;
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
    this.#files = files;
    this.#metrics?.policyReloads.inc({ result: "ok" });
    this.#metrics?.policiesLoaded.set(set.size);
    this.#status = { ok: true, policies: set.size, lastReload: now };
    this.#logger.info({ policies: set.size, path: this.#path }, "policies loaded");
    // Lint errors blocked the load above; warnings (validate --strict is their gate) and acknowledged errors,
    // with the policy's reason, are logged on every load.
    for (const f of findings) {
      const fields = { policy: f.policy, file: f.file, path: f.path, rule: f.rule };
      if (f.acknowledged !== undefined)
        this.#logger.warn(
          { ...fields, reason: f.acknowledged },
          `policy acknowledges ${f.rule}: ${f.acknowledged}`,
        );
      else this.#logger.warn(fields, `policy lint: ${f.message}`);
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
