import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { z } from "zod";
import { explain } from "../policy/evaluate.ts";
import { parseFixtureFile, runFixtureCase } from "../policy/fixtures.ts";
import { type CompileResult, formatProblem } from "../policy/parse.ts";
import { policySchema } from "../policy/schema.ts";
import type { Decision, ResolvedTarget } from "../policy/types.ts";
import { withoutControlCharacters } from "./exchange/control-characters.ts";
import { compileAt, type PolicyContext, policyContext } from "./policy-context.ts";
import { runPolicyDiff } from "./policy-diff.ts";
import { CliError, parseFlags } from "./shared.ts";

const USAGE = `Usage:
  wif-broker policy validate [PATH] [--strict] [--config F]
  wif-broker policy test [PATH] [--config F]
  wif-broker policy explain (--claims F | --token JWT) --provider NAME --audience A [--scope S]
                            [--source-ip IP] [--time ISO] [--policies PATH] [--config F] [--json]
                            [--actor-claims F | --actor-token JWT --actor-provider NAME]
  wif-broker policy schema
  wif-broker policy diff --base DIR --head DIR --audit FILE… [--config F] [--format text|json|github]
                         [--allow-widening]

Without --config (or WIF_BROKER_CONFIG, or ./wif-broker.yaml) the embedded default config applies, as for
'serve': PATH defaults to its policies, and a provider must be one of its providers or a well-known platform
name (github, gitlab, google, gcp, terraform, kubernetes, azure).`;

/** The JSON Schema of policy files, generated from the very schema the loader validates with. */
export function policyJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(policySchema, { io: "input", unrepresentable: "any" }),
    $id: "https://wif-broker.dev/schema/trust-policy.schema.json",
    title: "wif-broker TrustPolicy",
  };
}

function context(pathArg: string | undefined, configPath: string | undefined): PolicyContext {
  return policyContext(pathArg, configPath);
}

function compile(ctx: PolicyContext): CompileResult {
  return compileAt(ctx.path, ctx);
}

const out = (line: string) => process.stdout.write(`${line}\n`);

async function validate(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(
    argv,
    { strict: { type: "boolean", default: false }, config: { type: "string" } },
    true,
  );
  const ctx = context(positionals[0], values.config);
  const { set, problems, findings } = compile(ctx);
  for (const p of problems) out(`error: ${formatProblem(p)}`);
  let warnings = 0;
  let errors = problems.length;
  for (const f of findings) {
    if (f.acknowledged !== undefined) {
      out(`acknowledged: ${f.file}: ${f.policy}: ${f.path}: [${f.rule}] ${f.acknowledged}`);
      continue;
    }
    // Unacknowledged lint errors are problems above; warnings fail with --strict.
    const severity = values.strict ? "error" : f.severity;
    if (severity === "error") errors++;
    else warnings++;
    out(`${severity}: ${f.file}: ${f.policy}: ${f.path}: [${f.rule}] ${f.message}`);
  }
  out(`${set.size} ${set.size === 1 ? "policy" : "policies"}, ${errors} error(s), ${warnings} warning(s)`);
  return errors > 0 ? 1 : 0;
}

function fixtureFiles(path: string): string[] {
  const dir = statSync(path).isDirectory() ? path : dirname(path);
  const found: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.name.startsWith(".")) continue;
      if (e.isDirectory()) walk(join(d, e.name));
      else if (/\.test\.ya?ml$/.test(e.name)) found.push(join(d, e.name));
    }
  };
  walk(dir);
  return found.sort();
}

async function test(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(argv, { config: { type: "string" } }, true);
  const ctx = context(positionals[0], values.config);
  const { set, problems } = compile(ctx);
  if (problems.length > 0) {
    for (const p of problems) out(`error: ${formatProblem(p)}`);
    return 1;
  }
  let passed = 0;
  let failed = 0;
  for (const file of fixtureFiles(ctx.path)) {
    for (const c of parseFixtureFile(readFileSync(file, "utf8"), file)) {
      const r = runFixtureCase(set, c, ctx.limits, Date.now());
      if (r.passed) passed++;
      else failed++;
      out(`${r.passed ? "ok  " : "FAIL"} ${file}: ${r.name}: ${r.message}`);
    }
  }
  out(`${passed} passed, ${failed} failed`);
  return failed > 0 || passed === 0 ? 1 : 0;
}

/** The claims of a JWT, decoded without verification: explain is an offline what-if tool. */
function decodeClaims(token: string): Record<string, unknown> {
  const payload = token.trim().split(".")[1];
  try {
    const claims: unknown = JSON.parse(Buffer.from(payload ?? "", "base64url").toString("utf8"));
    if (typeof claims === "object" && claims !== null && !Array.isArray(claims))
      return claims as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new CliError("--token is not a JWT with a JSON object payload", 1);
}

function readClaimsFile(file: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new CliError(`--claims ${file}: ${(e as NodeJS.ErrnoException).code ?? "not JSON"}`, 1);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new CliError(`--claims ${file}: not a JSON object`, 1);
  return value as Record<string, unknown>;
}

/** Values as one terminal-safe line, cut at 300 characters. */
const shorten = (text: string) => {
  const line = withoutControlCharacters(text);
  return line.length > 300 ? `${line.slice(0, 300)}… (${line.length} characters)` : line;
};

/** What the grant would mint, in one line (no claim values beyond what the policy itself names). */
function describeTarget(t: ResolvedTarget): string {
  switch (t.kind) {
    case "github":
      return `github ${t.github.owner} repositories [${t.github.repositories?.join(" ") ?? "ALL"}]`;
    case "gcp":
      return t.gcp.idTokenAudience === undefined
        ? `gcp access token for ${t.gcp.serviceAccount}`
        : `gcp ID token for ${t.gcp.serviceAccount}, audience ${t.gcp.idTokenAudience}`;
    case "aws":
      return `aws ${t.aws.roleArn}`;
    case "kubernetes":
      return `kubernetes ${t.kubernetes.cluster}/${t.kubernetes.namespace}/${t.kubernetes.serviceAccount}`;
    case "postgres":
      return `postgres lease on ${t.postgres.connection}, roles [${t.postgres.roles.join(" ")}]`;
    case "mysql":
      return `mysql lease on ${t.mysql.connection}, ${t.mysql.grants.length} grant(s)`;
    case "jwt":
      return "broker JWT";
  }
}

function renderTrace(d: Decision, requested: string): string[] {
  // Named by an alias: the issued token carries the target's own audience.
  const alias =
    d.allow && d.grant.target.audience !== requested ? ` (audience ${d.grant.target.audience})` : "";
  const lines = [
    d.allow
      ? `ALLOW by ${d.grant.policy}: subject ${d.grant.subject}, scopes [${d.grant.scopes.join(" ")}], ttl ${d.grant.ttl}s, target ${describeTarget(d.grant.target)}${alias}${d.grant.act ? `, act ${JSON.stringify(d.grant.act)}` : ""}`
      : `DENY (${d.reason}): ${d.detail}`,
  ];
  for (const t of d.trace) {
    lines.push(`  ${t.admitted ? "✓" : "✗"} ${t.policy}`);
    for (const c of t.checks) {
      lines.push(`      ${c.ok ? "ok  " : "FAIL"} ${c.check}${c.message ? `: ${c.message}` : ""}`);
      // Offline, for the operator who holds the claims: what the check wanted and what it saw.
      if (!c.ok && c.expected !== undefined)
        lines.push(
          `           expected ${shorten(c.expected)}`,
          `           actual   ${shorten(c.actual ?? "")}`,
        );
    }
  }
  return lines;
}

async function explainCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, {
    claims: { type: "string" },
    token: { type: "string" },
    provider: { type: "string" },
    audience: { type: "string" },
    scope: { type: "string" },
    "source-ip": { type: "string" },
    time: { type: "string" },
    policies: { type: "string" },
    config: { type: "string" },
    json: { type: "boolean", default: false },
    "actor-claims": { type: "string" },
    "actor-token": { type: "string" },
    "actor-provider": { type: "string" },
  });
  if (!values.provider || !values.audience)
    throw new CliError(`--provider and --audience are required\n${USAGE}`);
  if (Boolean(values.claims) === Boolean(values.token))
    throw new CliError("give exactly one of --claims F and --token JWT");
  const claims = values.claims ? readClaimsFile(values.claims) : decodeClaims(values.token ?? "");
  // RFC 8693 delegation: the actor token's claims and provider, checked against the policies' `actors`.
  if (values["actor-claims"] && values["actor-token"])
    throw new CliError("give at most one of --actor-claims F and --actor-token JWT");
  const actorClaims = values["actor-claims"]
    ? readClaimsFile(values["actor-claims"])
    : values["actor-token"]
      ? decodeClaims(values["actor-token"])
      : undefined;
  if (actorClaims && !values["actor-provider"])
    throw new CliError("--actor-provider is required with an actor");
  const actor =
    actorClaims && values["actor-provider"]
      ? {
          provider: values["actor-provider"],
          subject: typeof actorClaims.sub === "string" ? actorClaims.sub : "",
          claims: actorClaims,
        }
      : undefined;
  const ctx = context(values.policies, values.config);
  const { set, problems } = compile(ctx);
  for (const p of problems) out(`error: ${formatProblem(p)}`);
  const now = values.time ? Date.parse(values.time) : Date.now();
  if (Number.isNaN(now)) throw new CliError("--time is not an ISO-8601 time");
  const decision = explain(
    set,
    { provider: values.provider, subject: typeof claims.sub === "string" ? claims.sub : "", claims },
    {
      audience: values.audience,
      scopes: values.scope ? values.scope.split(" ").filter(Boolean) : null,
      sourceIp: values["source-ip"],
      now,
      ...(actor ? { actor } : {}),
    },
    ctx.limits,
  );
  if (values.json) out(JSON.stringify(decision, null, 2));
  else for (const line of renderTrace(decision, values.audience)) out(line);
  return decision.allow ? 0 : 1;
}

export async function runPolicy(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case "validate":
      return validate(rest);
    case "test":
      return test(rest);
    case "explain":
      return explainCommand(rest);
    case "diff":
      return runPolicyDiff(rest, { stdout: out, stderr: process.stderr });
    case "schema":
      out(JSON.stringify(policyJsonSchema(), null, 2));
      return 0;
    default:
      out(USAGE);
      return sub === "--help" || sub === "-h" ? 0 : 2;
  }
}
