import type { Context } from "hono";
import type { DecisionLimits } from "../../policy/evaluate.ts";
import type { PolicyFile } from "../../policy/parse.ts";
import type { ProviderFacts } from "../../policy/platforms.ts";
import { DATA_ELEMENT_ID, jsonForHtml, type PlaygroundData } from "../../web/playground/page-data.ts";
import type { AppEnv } from "../deps.ts";
import { respond } from "../respond.ts";

/** The browser bundle of the policy engine and the page's style, built by `npm run build` (esbuild). */
export interface PlaygroundAssets {
  script: string;
  style: string;
}

export interface PlaygroundDeps {
  assets: PlaygroundAssets;
  /** The serving policy set's files, as text (the page shows them read-only and compiles them itself). */
  policyFiles: () => readonly PolicyFile[];
  providers: readonly ProviderFacts[];
  limits: DecisionLimits;
}

export const PLAYGROUND_SCRIPT_PATH = "/playground/playground.js";
export const PLAYGROUND_STYLE_PATH = "/playground/playground.css";

/**
 * No inline script or style, no connections: `connect-src 'none'` makes "pasted data never leaves the browser"
 * something the browser enforces, not only something the page's code promises.
 */
export const PLAYGROUND_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join("; ");

const SECURITY_HEADERS = {
  "Content-Security-Policy": PLAYGROUND_CSP,
  "Referrer-Policy": "no-referrer",
  "X-Frame-Options": "DENY",
  "Cross-Origin-Opener-Policy": "same-origin",
};

const asset = (c: Context<AppEnv>, body: string, type: string) =>
  respond(c, body, 200, { ...SECURITY_HEADERS, "Content-Type": type });

const field = (id: string, label: string, control: string, hint = "") =>
  `<div class="field"><label for="${id}">${label}</label>${hint ? `<p class="hint" id="${id}-hint">${hint}</p>` : ""}${control}</div>`;

function page(data: PlaygroundData): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>wif-broker policy playground</title>
<link rel="stylesheet" href="${PLAYGROUND_STYLE_PATH}">
<script type="module" src="${PLAYGROUND_SCRIPT_PATH}"></script>
</head>
<body>
<header>
<h1>Policy playground</h1>
<p>Try a token against trust policies. Everything runs in this page with the broker's own policy engine: what you
paste here is never sent anywhere.</p>
</header>
<main>
<section class="policies" aria-labelledby="policies-heading">
<h2 id="policies-heading">Policies</h2>
<fieldset>
<legend>Evaluate against</legend>
<label><input type="radio" name="source" id="source-loaded" value="loaded" checked> the broker's loaded set</label>
<label><input type="radio" name="source" id="source-pasted" value="pasted"> pasted YAML</label>
</fieldset>
${field("loaded-policies", "Loaded policies (read-only)", '<textarea id="loaded-policies" rows="18" readonly spellcheck="false"></textarea>')}
${field("policies", "Policies (YAML)", '<textarea id="policies" rows="18" spellcheck="false" aria-describedby="policies-hint"></textarea>', "Paste or edit TrustPolicy documents (separated by ---).")}
<div id="policy-problems" role="status" aria-live="polite"></div>
</section>
<section class="request" aria-labelledby="request-heading">
<h2 id="request-heading">Request</h2>
${field("provider", "Provider", '<select id="provider"></select>')}
${field("token", "Token", '<textarea id="token" rows="4" spellcheck="false" aria-describedby="token-hint"></textarea>', "A JWT: its payload is decoded into Claims (the signature is not checked).")}
<p id="token-status" role="status" aria-live="polite"></p>
${field("claims", "Claims", '<textarea id="claims" rows="14" spellcheck="false" aria-describedby="claims-hint"></textarea>', "A JSON object: the verified claims of the subject token.")}
${field("audience", "Audience", '<input id="audience" type="text" autocomplete="off" spellcheck="false">')}
${field("scope", "Scope", '<input id="scope" type="text" autocomplete="off" spellcheck="false" aria-describedby="scope-hint">', "Space-separated; empty for none.")}
${field("source-ip", "Source IP", '<input id="source-ip" type="text" autocomplete="off" spellcheck="false">')}
${field("time", "Time", '<input id="time" type="text" autocomplete="off" spellcheck="false" aria-describedby="time-hint">', "ISO 8601, e.g. 2026-12-01T09:30:00Z; empty for now.")}
<p id="input-problems" role="status" aria-live="polite"></p>
</section>
<section class="result" aria-labelledby="result-heading">
<h2 id="result-heading">Result</h2>
<div id="result" aria-live="polite"><p>Loading the policy engine…</p></div>
</section>
</main>
<script type="application/json" id="${DATA_ELEMENT_ID}">${jsonForHtml(data)}</script>
</body>
</html>
`;
}

/** GET /playground (CONTRACT §13) and its two assets; registered only when `playground.enabled`. */
export function playgroundRoutes(issuer: string, deps: PlaygroundDeps) {
  return {
    page: (c: Context<AppEnv>) => {
      const data: PlaygroundData = {
        issuer,
        providers: deps.providers,
        limits: deps.limits,
        files: deps.policyFiles(),
      };
      return asset(c, page(data), "text/html; charset=UTF-8");
    },
    script: (c: Context<AppEnv>) => asset(c, deps.assets.script, "text/javascript; charset=utf-8"),
    style: (c: Context<AppEnv>) => asset(c, deps.assets.style, "text/css; charset=utf-8"),
  };
}
