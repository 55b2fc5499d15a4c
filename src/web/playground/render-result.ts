import type { Decision, Grant, PolicyTrace } from "../../policy/types.ts";
import { el } from "./dom.ts";

/** The issued token's claims as the broker would mint them for a broker-JWT target (RFC 9068 names). */
function issuedClaims(grant: Grant, issuer: string): Array<[string, string]> {
  const rows: Array<[string, string]> = [
    ["iss", issuer],
    ["sub", grant.subject],
    ["aud", grant.target.audience],
    ["client_id", grant.policy],
  ];
  if (grant.scopes.length > 0) rows.push(["scope", grant.scopes.join(" ")]);
  rows.push(["lifetime", `${grant.ttl} s`]);
  for (const [name, value] of Object.entries(grant.claims)) rows.push([name, value]);
  if (grant.target.kind !== "jwt")
    rows.push(["target", `${grant.target.kind}: ${JSON.stringify(grant.target)}`]);
  return rows;
}

function issuedTable(grant: Grant, issuer: string): HTMLTableElement {
  return el(
    "table",
    { class: "issued", id: "issued-claims" },
    el("caption", {}, "Issued claims"),
    el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Claim"), el("th", { scope: "col" }, "Value"))),
    el(
      "tbody",
      {},
      ...issuedClaims(grant, issuer).map(([k, v]) =>
        el("tr", {}, el("th", { scope: "row" }, k), el("td", {}, v)),
      ),
    ),
  );
}

/** One table per candidate policy: every check, its result, the expected pattern and the actual value. */
function traceTable(t: PolicyTrace, admitting: string | undefined): HTMLTableElement {
  const status =
    t.policy === admitting
      ? "admits"
      : t.admitted
        ? "identity admitted, request not granted"
        : "does not admit";
  return el(
    "table",
    { class: "trace", "data-policy": t.policy },
    el("caption", {}, `${t.policy} — ${status}`),
    el(
      "thead",
      {},
      el(
        "tr",
        {},
        ...["Check", "Result", "Expected", "Actual", "Why"].map((h) => el("th", { scope: "col" }, h)),
      ),
    ),
    el(
      "tbody",
      {},
      ...t.checks.map((c) =>
        el(
          "tr",
          { class: c.ok ? "pass" : "fail" },
          el("th", { scope: "row" }, c.check),
          el("td", {}, c.ok ? "pass" : "fail"),
          el("td", { class: "expected" }, c.expected ?? ""),
          el("td", { class: "actual" }, c.actual ?? ""),
          el("td", {}, c.message ?? ""),
        ),
      ),
    ),
  );
}

export function renderDecision(d: Decision, issuer: string): Node[] {
  const admitting = d.allow ? d.grant.policy : undefined;
  const nodes: Node[] = [
    el("p", { id: "decision", class: d.allow ? "allow" : "deny" }, d.allow ? "Allow" : "Deny"),
    d.allow
      ? el("p", { id: "admitting-policy" }, "Admitted by ", el("strong", {}, d.grant.policy))
      : el("p", { id: "deny-reason" }, `${d.reason}: ${d.detail}`),
  ];
  if (d.allow) nodes.push(issuedTable(d.grant, issuer));
  nodes.push(el("h3", {}, "Checks of every policy"));
  if (d.trace.length === 0) nodes.push(el("p", {}, "No policies to check."));
  for (const t of d.trace) nodes.push(traceTable(t, admitting));
  return nodes;
}
