import { type DecisionLimits, explain } from "../../policy/evaluate.ts";
import { compilePolicyFiles, formatProblem } from "../../policy/parse.ts";
import type { PolicySet } from "../../policy/policy-set.ts";
import { decodeJwtPayload } from "./decode-token.ts";
import { byId, el } from "./dom.ts";
import { DATA_ELEMENT_ID, type PlaygroundData } from "./page-data.ts";
import { renderDecision } from "./render-result.ts";

/**
 * The playground page (CONTRACT §13): compiles the loaded or pasted policies with the broker's own compiler and
 * explains the decision for the claims and request in the form, all in the page. Nothing here opens a
 * connection (the page's Content-Security-Policy forbids it anyway).
 */

const data = JSON.parse(byId(DATA_ELEMENT_ID).textContent ?? "{}") as PlaygroundData;
const limits: DecisionLimits = data.limits;

const input = {
  loaded: byId<HTMLTextAreaElement>("loaded-policies"),
  pasted: byId<HTMLTextAreaElement>("policies"),
  sourceLoaded: byId<HTMLInputElement>("source-loaded"),
  sourcePasted: byId<HTMLInputElement>("source-pasted"),
  provider: byId<HTMLSelectElement>("provider"),
  token: byId<HTMLTextAreaElement>("token"),
  claims: byId<HTMLTextAreaElement>("claims"),
  audience: byId<HTMLInputElement>("audience"),
  scope: byId<HTMLInputElement>("scope"),
  sourceIp: byId<HTMLInputElement>("source-ip"),
  time: byId<HTMLInputElement>("time"),
};
const out = {
  problems: byId("policy-problems"),
  tokenStatus: byId("token-status"),
  inputProblems: byId("input-problems"),
  result: byId("result"),
};

const loadedText = data.files.map((f) => `# ${f.path}\n${f.text.trimEnd()}\n`).join("---\n");
input.loaded.value = loadedText;
input.pasted.value = loadedText;
for (const { name } of data.providers) input.provider.append(el("option", { value: name }, name));

let compiled: { key: string; set: PolicySet } | undefined;

function policySet(): PolicySet | undefined {
  const pasted = input.sourcePasted.checked;
  const files = pasted ? [{ path: "pasted", text: input.pasted.value }] : data.files;
  const key = pasted ? `p:${input.pasted.value}` : "loaded";
  if (compiled?.key === key) return compiled.set;
  const result = compilePolicyFiles(files, { providers: data.providers });
  out.problems.replaceChildren(
    ...result.problems.map((p) => el("p", { class: "problem" }, formatProblem(p))),
  );
  // A set with problems would not load in the broker either: decide nothing rather than half a set.
  if (result.problems.length > 0) {
    compiled = undefined;
    return undefined;
  }
  compiled = { key, set: result.set };
  return result.set;
}

function readClaims(): Record<string, unknown> | string {
  const text = input.claims.value.trim();
  if (text === "") return "Claims: paste a JSON object, or a JWT under Token";
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === "object" && value !== null && !Array.isArray(value))
      return value as Record<string, unknown>;
  } catch {
    // fall through
  }
  return "Claims: not a JSON object";
}

function readTime(): number | string {
  const text = input.time.value.trim();
  if (text === "") return Date.now();
  const t = Date.parse(text);
  return Number.isNaN(t) ? "Time: not an ISO 8601 time" : t;
}

function evaluate(): void {
  // One policy field at a time: the loaded set (read-only) or the pasted YAML (editable, starts as a copy).
  const pasted = input.sourcePasted.checked;
  const fieldOf = (e: HTMLElement) => e.closest(".field") as HTMLElement | null;
  const loadedField = fieldOf(input.loaded);
  const pastedField = fieldOf(input.pasted);
  if (loadedField) loadedField.hidden = pasted;
  if (pastedField) pastedField.hidden = !pasted;
  const set = policySet();
  const claims = readClaims();
  const now = readTime();
  const problems = [claims, now].filter((x): x is string => typeof x === "string");
  if (input.audience.value.trim() === "") problems.push("Audience: required");
  out.inputProblems.replaceChildren(...problems.map((p) => el("span", { class: "problem" }, p)));
  if (!set) {
    out.result.replaceChildren(el("p", {}, "Fix the policy problems above to see a decision."));
    return;
  }
  if (problems.length > 0 || typeof claims === "string" || typeof now === "string") {
    out.result.replaceChildren(el("p", {}, "Complete the request to see a decision."));
    return;
  }
  const scope = input.scope.value.trim();
  const decision = explain(
    set,
    { provider: input.provider.value, subject: typeof claims.sub === "string" ? claims.sub : "", claims },
    {
      audience: input.audience.value.trim(),
      scopes: scope === "" ? null : scope.split(/\s+/),
      sourceIp: input.sourceIp.value.trim() || undefined,
      now,
    },
    limits,
  );
  out.result.replaceChildren(...renderDecision(decision, data.issuer));
}

function onToken(): void {
  const text = input.token.value.trim();
  if (text === "") {
    out.tokenStatus.textContent = "";
    return;
  }
  const decoded = decodeJwtPayload(text);
  if ("error" in decoded) {
    out.tokenStatus.textContent = `Token: ${decoded.error}`;
    return;
  }
  out.tokenStatus.textContent = "Token decoded: its payload is in Claims.";
  input.claims.value = JSON.stringify(decoded.claims, null, 2);
}

input.token.addEventListener("input", () => {
  onToken();
  evaluate();
});
for (const control of [input.pasted, input.claims, input.audience, input.scope, input.sourceIp, input.time])
  control.addEventListener("input", evaluate);
for (const control of [input.provider, input.sourceLoaded, input.sourcePasted])
  control.addEventListener("change", evaluate);
evaluate();
