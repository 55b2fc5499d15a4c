import type { z } from "zod";
import { formatPath } from "../util/format-path.ts";
import { YamlAliasError, YamlError, yamlDocuments } from "../util/yaml.ts";
import { checkAudienceNames } from "./audience-names.ts";
import { type CompiledPolicy, compilePolicy, newCompileScope, PolicyCompileError } from "./compile.ts";
import { type LintFinding, lintPolicy } from "./lint.ts";
import { describeProvider, type ProviderFacts } from "./platforms.ts";
import { PolicySet } from "./policy-set.ts";
import { policySchema } from "./schema.ts";

/** A problem in a policy file: the file, the path inside its document, and what is wrong. */
export interface PolicyProblem {
  file: string;
  document: number;
  path: string;
  message: string;
}

export interface PolicyFile {
  path: string;
  text: string;
}

/** A lint finding that does not block loading: a warning, or an error the policy acknowledges. */
export interface PolicyFinding extends PolicyProblem {
  policy: string;
  rule: string;
  severity: LintFinding["severity"];
  acknowledged?: string;
}

export interface CompileResult {
  /** Complete only when `problems` is empty: callers must never serve a partial set. */
  set: PolicySet;
  /** Schema, compile and claim-type errors and unacknowledged lint errors: each keeps the set from loading. */
  problems: PolicyProblem[];
  findings: PolicyFinding[];
}

export interface CompileOptions {
  /**
   * The config's providers. When given, a policy naming another provider is a problem, and each provider's issuer
   * and declared claims tell lint and the type checks which platform it is (CONTRACT §5 "Claim types"). Without
   * it (`policy validate` with no `--config`), a provider's name is all there is.
   */
  providers?: readonly ProviderFacts[];
  /** What the message on an unknown provider says about `providers` (default "not in the config"). */
  unknownProviderHint?: string;
}

export const formatProblem = (p: PolicyProblem): string =>
  `${p.file}${p.document > 0 ? ` (document ${p.document + 1})` : ""}: ${p.path}: ${p.message}`;

function zodProblems(error: z.ZodError, file: string, document: number): PolicyProblem[] {
  return error.issues.map((i) => ({ file, document, path: formatPath(i.path), message: i.message }));
}

function protoKeyPath(value: unknown, path: PropertyKey[]): string | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  if (Object.hasOwn(value, "__proto__")) return formatPath([...path, "__proto__"]);
  for (const [k, v] of Object.entries(value)) {
    const found = protoKeyPath(v, [...path, Array.isArray(value) ? Number(k) : k]);
    if (found) return found;
  }
  return undefined;
}

/** Parses, validates and compiles every document of every file. Pure: the caller reads the files. */
export function compilePolicyFiles(
  files: readonly PolicyFile[],
  options: CompileOptions = {},
): CompileResult {
  const problems: PolicyProblem[] = [];
  const findings: PolicyFinding[] = [];
  const compiled: CompiledPolicy[] = [];
  const seen = new Map<string, string>();
  const configured = options.providers && new Map(options.providers.map((p) => [p.name, p]));
  const describe = (name: string) => describeProvider(configured?.get(name) ?? { name });
  const providerIssuers = new Map(
    (options.providers ?? []).flatMap((p) => (p.issuer === undefined ? [] : [[p.name, p.issuer] as const])),
  );
  const scope = newCompileScope();
  const compileDocument = (value: unknown, file: string, document: number) => {
    const at = (path: string, message: string) => problems.push({ file, document, path, message });
    if (value === null || value === undefined) return; // an empty document (e.g. a trailing ---)
    // zod drops an own `__proto__` key without an issue, which would silently delete a match entry (fail open).
    const proto = protoKeyPath(value, []);
    if (proto) {
      at(
        proto,
        '"__proto__" is not allowed as a key; to match a claim of that name use the JSON Pointer /__proto__',
      );
      return;
    }
    const parsed = policySchema.safeParse(value);
    if (!parsed.success) {
      problems.push(...zodProblems(parsed.error, file, document));
      return;
    }
    const policy = parsed.data;
    const name = policy.metadata.name;
    const previous = seen.get(name);
    if (previous !== undefined) {
      at("metadata.name", `"${name}" is already defined in ${previous}`);
      return;
    }
    seen.set(name, file);
    const providers =
      typeof policy.spec.provider === "string" ? [policy.spec.provider] : policy.spec.provider;
    const unknown = configured ? providers.filter((p) => !configured.has(p)) : [];
    if (unknown.length > 0) {
      at(
        "spec.provider",
        `unknown provider ${unknown.join(", ")} (${options.unknownProviderHint ?? "not in the config"})`,
      );
      return;
    }
    const unknownActor = configured
      ? (policy.spec.actors ?? []).findIndex((a) =>
          (typeof a.provider === "string" ? [a.provider] : a.provider).some((p) => !configured.has(p)),
        )
      : -1;
    if (unknownActor >= 0) {
      at(`spec.actors[${unknownActor}].provider`, "unknown provider (not in the config)");
      return;
    }
    let policyCompiled: CompiledPolicy;
    try {
      policyCompiled = compilePolicy(policy, { file, document }, providers.map(describe), scope, describe);
    } catch (e) {
      if (!(e instanceof PolicyCompileError)) throw e;
      at(e.path, e.message);
      return;
    }
    let blocked = false;
    for (const f of lintPolicy(policy, { providerIssuers })) {
      if (f.severity === "error" && f.acknowledged === undefined) {
        blocked = true;
        at(
          f.path,
          `[${f.rule}] ${f.message} (or acknowledge it: spec.acknowledge: [{rule: ${f.rule}, reason: "…"}])`,
        );
      } else {
        findings.push({ file: file, document, policy: name, ...f });
      }
    }
    if (!blocked) compiled.push(policyCompiled);
  };
  for (const file of files) {
    const before = { problems: problems.length, findings: findings.length, compiled: compiled.length };
    const namesBefore = new Map(seen);
    try {
      // One document at a time: parsed, validated and compiled before the next is parsed.
      let document = 0;
      for (const value of yamlDocuments(file.text)) compileDocument(value, file.path, document++);
    } catch (e) {
      if (!(e instanceof YamlError)) throw e;
      // A file that is not YAML is one problem, as if none of its documents had been read.
      problems.length = before.problems;
      findings.length = before.findings;
      compiled.length = before.compiled;
      seen.clear();
      for (const [k, v] of namesBefore) seen.set(k, v);
      const path = e.path ?? `line ${e.line ?? "?"}`;
      const message =
        e instanceof YamlAliasError ? "YAML aliases are not allowed in policy files" : e.message;
      problems.push({ file: file.path, document: e.document ?? 0, path, message });
    }
  }
  const names = checkAudienceNames(compiled);
  problems.push(...names.problems);
  return { set: new PolicySet(names.kept), problems, findings };
}
