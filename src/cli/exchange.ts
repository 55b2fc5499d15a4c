import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { TOKEN_TYPE } from "../mint/types.ts";
import { parseDuration } from "../util/duration.ts";
import { CliError, type Command, parseFlags } from "./shared.ts";

/**
 * `wif-broker exchange` (CONTRACT §6): fetch this workload's identity token from its platform, exchange it at the
 * broker (RFC 8693) and print the credential in the form the caller's tooling reads. The subject token and the
 * platform's request credentials are never printed, not even in an error.
 */

export const K8S_TOKEN_FILE = "/var/run/secrets/tokens/wif-broker-token";
const TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange";
const JWT_TYPE = "urn:ietf:params:oauth:token-type:jwt";
const FORMATS = ["json", "token", "env", "credential-process"] as const;
type Format = (typeof FORMATS)[number];

/** Exit codes: scripts tell "do not retry" (1, 2) from "retry later" (3). */
export const EXIT = { ok: 0, refused: 1, usage: 2, unavailable: 3 } as const;

const USAGE = `Usage:
  wif-broker exchange --broker URL --audience A [--scope S]...
      (--token-file F | --token-env VAR | --github-actions | --gcp-metadata | --k8s [--k8s-token-file F])
      [--id-token-audience AUD] [--format json|token|env|credential-process]
      [--requested-token-type T] [--timeout 10s]

Identity token (exactly one source):
  --token-file F        a file holding the token (read on every run; surrounding whitespace is ignored)
  --token-env VAR       an environment variable holding the token
  --github-actions      GitHub Actions OIDC (the job needs "permissions: id-token: write")
  --gcp-metadata        the GCE/GKE/Cloud Run metadata server (GCE_METADATA_HOST overrides its host)
  --k8s                 a projected service-account token, default ${K8S_TOKEN_FILE}
  GitHub Actions and metadata-server tokens are requested for --id-token-audience, by default the broker's
  issuer as its /.well-known/oauth-authorization-server states it.

Output (--format, default json):
  json                  the broker's token response
  token                 the access_token only
  env                   shell export lines: AWS_ACCESS_KEY_ID… for AWS credentials, else WIF_ACCESS_TOKEN…
  credential-process    the AWS CLI/SDK credential_process document (AWS targets only)

Exit codes: 0 issued; 1 refused (by the broker or the token source); 2 usage or local set-up error;
  3 unavailable (unreachable, timed out, HTTP 429 or 5xx): retry later.`;

interface Options {
  broker: URL;
  audience: string;
  scope: string | undefined;
  source: TokenSource;
  idTokenAudience: string | undefined;
  format: Format;
  requestedTokenType: string | undefined;
  timeoutMs: number;
}

type TokenSource =
  | { kind: "file"; path: string }
  | { kind: "env"; name: string }
  | { kind: "github-actions" }
  | { kind: "gcp-metadata" }
  | { kind: "k8s"; path: string };

export const runExchange: Command = async (argv) => {
  const { values } = parseFlags(argv, {
    broker: { type: "string" },
    audience: { type: "string" },
    scope: { type: "string", multiple: true },
    "token-file": { type: "string" },
    "token-env": { type: "string" },
    "github-actions": { type: "boolean" },
    "gcp-metadata": { type: "boolean" },
    k8s: { type: "boolean" },
    "k8s-token-file": { type: "string" },
    "id-token-audience": { type: "string" },
    format: { type: "string", default: "json" },
    "requested-token-type": { type: "string" },
    timeout: { type: "string", default: "10s" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return EXIT.ok;
  }

  const usage = (message: string) => new CliError(`exchange: ${message}\n\n${USAGE}`, EXIT.usage);
  if (!values.broker) throw usage("--broker is required");
  if (!values.audience) throw usage("--audience is required");
  const format = values.format;
  if (!isFormat(format)) throw usage(`--format must be one of ${FORMATS.join(", ")}`);
  const timeout = parseDuration(values.timeout);
  if (timeout === undefined || timeout <= 0 || timeout > 600) {
    throw usage("--timeout must be a duration like 10s, at most 10m");
  }
  let broker: URL;
  try {
    broker = new URL(values.broker);
  } catch {
    throw usage("--broker must be a URL such as https://broker.example.com");
  }
  if (broker.protocol !== "https:" && broker.protocol !== "http:")
    throw usage("--broker must be an http(s) URL");
  if (broker.search || broker.hash) throw usage("--broker must not carry a query or fragment");

  const sources: TokenSource[] = [];
  if (values["token-file"] !== undefined) sources.push({ kind: "file", path: values["token-file"] });
  if (values["token-env"] !== undefined) sources.push({ kind: "env", name: values["token-env"] });
  if (values["github-actions"]) sources.push({ kind: "github-actions" });
  if (values["gcp-metadata"]) sources.push({ kind: "gcp-metadata" });
  if (values.k8s) sources.push({ kind: "k8s", path: values["k8s-token-file"] ?? K8S_TOKEN_FILE });
  const [source, ...extra] = sources;
  if (!source || extra.length > 0) {
    throw usage("name exactly one of --token-file, --token-env, --github-actions, --gcp-metadata, --k8s");
  }
  if (values["k8s-token-file"] !== undefined && !values.k8s) throw usage("--k8s-token-file goes with --k8s");

  // credential-process asks for AWS credentials up front, so the broker refuses a non-AWS target before minting.
  let requestedTokenType = values["requested-token-type"];
  if (format === "credential-process") {
    if (requestedTokenType !== undefined && requestedTokenType !== TOKEN_TYPE.awsCredentials) {
      throw usage(`--format credential-process needs --requested-token-type ${TOKEN_TYPE.awsCredentials}`);
    }
    requestedTokenType = TOKEN_TYPE.awsCredentials;
  }
  const scopes = (values.scope ?? []).flatMap((s) => s.split(/\s+/)).filter(Boolean);

  if (broker.protocol === "http:" && !isLoopback(broker.hostname)) {
    process.stderr.write(
      "wif-broker: exchange: warning: --broker is plain http to a non-loopback host; the identity token travels unencrypted\n",
    );
  }

  return exchange(
    {
      broker,
      audience: values.audience,
      scope: scopes.length ? scopes.join(" ") : undefined,
      source,
      idTokenAudience: values["id-token-audience"],
      format,
      requestedTokenType,
      timeoutMs: timeout * 1000,
    },
    process.env,
  );
};

const isFormat = (f: string): f is Format => (FORMATS as readonly string[]).includes(f);

function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, "");
  if (host === "localhost" || host.endsWith(".localhost")) return true;
  if (isIP(host) === 4) return host.startsWith("127.");
  return host === "::1";
}

async function exchange(o: Options, env: NodeJS.ProcessEnv): Promise<number> {
  const deadline = AbortSignal.timeout(o.timeoutMs);
  const http = new Http(deadline, o.timeoutMs);
  const secrets: string[] = [];
  const subjectToken = await readSubjectToken(o, env, http, secrets);
  secrets.push(subjectToken);

  const form = new URLSearchParams({
    grant_type: TOKEN_EXCHANGE,
    subject_token: subjectToken,
    subject_token_type: JWT_TYPE,
    audience: o.audience,
  });
  if (o.scope !== undefined) form.set("scope", o.scope);
  if (o.requestedTokenType !== undefined) form.set("requested_token_type", o.requestedTokenType);

  const res = await http.send("the broker", endpoint(o.broker, "token"), {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
    body: form,
  });
  const body = await http.json("the broker", res);
  if (!res.ok) throw brokerRefusal(res, body, secrets, o.format);
  const issued = tokenResponse(body);
  process.stdout.write(render(o.format, issued, body));
  return EXIT.ok;
}

/** `<broker>/<path>`, keeping a path prefix (`https://host/wif` → `https://host/wif/token`). */
function endpoint(broker: URL, path: string): URL {
  const base = broker.href.endsWith("/") ? broker.href : `${broker.href}/`;
  return new URL(path, base);
}

// --- identity token sources -------------------------------------------------------------------------------

async function readSubjectToken(
  o: Options,
  env: NodeJS.ProcessEnv,
  http: Http,
  secrets: string[],
): Promise<string> {
  const s = o.source;
  switch (s.kind) {
    case "file":
      return compactJws(readTokenFile(s.path, "--token-file"), `the file ${s.path}`, EXIT.usage);
    case "k8s":
      return compactJws(
        readTokenFile(
          s.path,
          "--k8s",
          "mount a projected serviceAccountToken volume whose audience is the broker's issuer",
        ),
        `the file ${s.path}`,
        EXIT.usage,
      );
    case "env": {
      const value = env[s.name];
      if (!value?.trim())
        throw new CliError(`exchange: --token-env: ${s.name} is not set or empty`, EXIT.usage);
      return compactJws(value.trim(), `the variable ${s.name}`, EXIT.usage);
    }
    case "github-actions":
      return githubActionsToken(await idTokenAudience(o, http), env, http, secrets);
    case "gcp-metadata":
      return gcpMetadataToken(await idTokenAudience(o, http), env, http);
  }
}

function readTokenFile(path: string, flag: string, hint?: string): string {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? "unreadable";
    throw new CliError(
      `exchange: ${flag}: cannot read ${path} (${code})${hint ? `; ${hint}` : ""}`,
      EXIT.usage,
    );
  }
  const token = text.trim();
  if (!token) throw new CliError(`exchange: ${flag}: ${path} is empty`, EXIT.usage);
  return token;
}

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** A clear local error instead of a broker round trip; the value itself is never quoted. */
function compactJws(token: string, where: string, exitCode: number): string {
  if (!COMPACT_JWS.test(token))
    throw new CliError(`exchange: ${where} does not hold a JWT (compact JWS)`, exitCode);
  return token;
}

/** The audience platform tokens are requested for: given, or the broker's issuer (RFC 8414 metadata). */
async function idTokenAudience(o: Options, http: Http): Promise<string> {
  if (o.idTokenAudience) return o.idTokenAudience;
  const what = "the broker's metadata";
  const res = await http.send(what, endpoint(o.broker, ".well-known/oauth-authorization-server"), {
    headers: { accept: "application/json" },
  });
  const body = await http.json(what, res);
  const issuer = isRecord(body) ? body.issuer : undefined;
  if (!res.ok || typeof issuer !== "string" || !issuer) {
    throw new CliError(
      `exchange: ${what} (HTTP ${res.status}) names no issuer; pass --id-token-audience`,
      exitFor(res.status),
    );
  }
  return issuer;
}

/** GitHub Actions: GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=…, authorized by $ACTIONS_ID_TOKEN_REQUEST_TOKEN. */
async function githubActionsToken(audience: string, env: NodeJS.ProcessEnv, http: Http, secrets: string[]) {
  const requestUrl = env.ACTIONS_ID_TOKEN_REQUEST_URL;
  const requestToken = env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
  if (!requestUrl || !requestToken) {
    throw new CliError(
      "exchange: --github-actions: ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set; " +
        'run inside a GitHub Actions job with "permissions: id-token: write"',
      EXIT.usage,
    );
  }
  secrets.push(requestToken);
  let url: URL;
  try {
    url = new URL(requestUrl);
  } catch {
    throw new CliError("exchange: --github-actions: ACTIONS_ID_TOKEN_REQUEST_URL is not a URL", EXIT.usage);
  }
  url.searchParams.set("audience", audience);
  const what = "the GitHub Actions OIDC endpoint";
  const res = await http.send(what, url, {
    headers: { authorization: `Bearer ${requestToken}`, accept: "application/json" },
  });
  const body = await http.json(what, res);
  const value = isRecord(body) ? body.value : undefined;
  if (!res.ok || typeof value !== "string") {
    throw new CliError(`exchange: ${what} answered HTTP ${res.status} without a token`, exitFor(res.status));
  }
  return compactJws(value.trim(), `the answer of ${what}`, EXIT.refused);
}

/**
 * GCP metadata server: GET …/service-accounts/default/identity?audience=…&format=full with Metadata-Flavor: Google.
 * GCE_METADATA_IP or GCE_METADATA_HOST (host[:port]) overrides the host, as in Google's own libraries.
 */
async function gcpMetadataToken(audience: string, env: NodeJS.ProcessEnv, http: Http) {
  // gcp-metadata's order: GCE_METADATA_IP, then GCE_METADATA_HOST.
  const host = env.GCE_METADATA_IP || env.GCE_METADATA_HOST || "metadata.google.internal";
  let url: URL;
  try {
    url = new URL(
      "/computeMetadata/v1/instance/service-accounts/default/identity",
      /^https?:\/\//.test(host) ? host : `http://${host}`,
    );
  } catch {
    throw new CliError("exchange: --gcp-metadata: GCE_METADATA_HOST is not a host[:port]", EXIT.usage);
  }
  url.searchParams.set("audience", audience);
  url.searchParams.set("format", "full");
  const what = "the GCP metadata server";
  const res = await http.send(what, url, { headers: { "Metadata-Flavor": "Google" } });
  const text = await http.text(what, res);
  if (!res.ok) throw new CliError(`exchange: ${what} answered HTTP ${res.status}`, exitFor(res.status));
  // A real metadata server always says so; anything else (a captive portal, a proxy) is not one.
  if (res.headers.get("metadata-flavor") !== "Google") {
    throw new CliError(`exchange: ${what} answer lacks "Metadata-Flavor: Google"`, EXIT.refused);
  }
  return compactJws(text.trim(), `the answer of ${what}`, EXIT.refused);
}

// --- HTTP --------------------------------------------------------------------------------------------------

/** 429 and 5xx are worth retrying later; any other failure is a refusal. */
const exitFor = (status: number) => (status === 429 || status >= 500 ? EXIT.unavailable : EXIT.refused);

const MAX_BODY = 1024 * 1024;

/** fetch under one deadline for the whole command; failures become CliErrors that name the peer, never a URL. */
class Http {
  readonly #signal: AbortSignal;
  readonly #timeoutMs: number;

  constructor(signal: AbortSignal, timeoutMs: number) {
    this.#signal = signal;
    this.#timeoutMs = timeoutMs;
  }

  async send(what: string, url: URL, init: RequestInit): Promise<Response> {
    try {
      return await fetch(url, { ...init, signal: this.#signal, redirect: "error" });
    } catch (e) {
      throw this.#failure(what, e);
    }
  }

  async text(what: string, res: Response): Promise<string> {
    try {
      const text = await res.text();
      if (text.length > MAX_BODY)
        throw new CliError(`exchange: ${what} sent an oversized answer`, EXIT.refused);
      return text;
    } catch (e) {
      if (e instanceof CliError) throw e;
      throw this.#failure(what, e);
    }
  }

  /** The parsed JSON body, or undefined when it is not JSON. */
  async json(what: string, res: Response): Promise<unknown> {
    const text = await this.text(what, res);
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return undefined;
    }
  }

  #failure(what: string, e: unknown): CliError {
    if (this.#signal.aborted) {
      return new CliError(`exchange: ${what}: timed out after ${this.#timeoutMs / 1000}s`, EXIT.unavailable);
    }
    return new CliError(`exchange: cannot reach ${what} (${networkCode(e)})`, EXIT.unavailable);
  }
}

/** The system error code (ECONNREFUSED, ENOTFOUND…) along an undici error's cause chain, else its last message. */
function networkCode(e: unknown): string {
  let last = "network error";
  for (let cur = e, depth = 0; isRecord(cur) && depth < 5; cur = cur.cause, depth++) {
    if (typeof cur.code === "string") return cur.code;
    if (typeof cur.message === "string" && cur.message) last = cur.message.slice(0, 80);
  }
  return last.replace(/\p{Cc}/gu, " ");
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null;

// --- broker answers ----------------------------------------------------------------------------------------

interface Issued {
  accessToken: string;
  issuedTokenType: string;
  tokenType: string;
  expiresIn: number | undefined;
  scope: string | undefined;
}

/** RFC 8693 §2.2.1: access_token, issued_token_type and token_type are required. */
function tokenResponse(body: unknown): Issued {
  const b = isRecord(body) ? body : {};
  const { access_token, issued_token_type, token_type, expires_in, scope } = b;
  if (typeof access_token !== "string" || !access_token || typeof issued_token_type !== "string") {
    throw new CliError("exchange: the broker's answer is not a token exchange response", EXIT.refused);
  }
  return {
    accessToken: access_token,
    issuedTokenType: issued_token_type,
    tokenType: typeof token_type === "string" ? token_type : "",
    expiresIn: typeof expires_in === "number" ? expires_in : undefined,
    scope: typeof scope === "string" ? scope : undefined,
  };
}

/** The broker's OAuth error (RFC 6749 §5.2), made safe for a terminal: no token, no control characters. */
function brokerRefusal(res: Response, body: unknown, secrets: readonly string[], format: Format): CliError {
  const b = isRecord(body) ? body : {};
  const clean = (v: unknown) => (typeof v === "string" ? sanitize(v, secrets) : undefined);
  const error = clean(b.error);
  const description = clean(b.error_description);
  const unavailable = exitFor(res.status) === EXIT.unavailable;
  let message = `exchange: the broker ${unavailable ? "is unavailable" : "refused the exchange"} (HTTP ${res.status})`;
  if (error) message += `: ${error}${description ? `: ${description}` : ""}`;
  else {
    const requestId = clean(res.headers.get("x-request-id") ?? undefined);
    message += requestId ? ` (request id ${requestId})` : "";
  }
  const retryAfter = clean(res.headers.get("retry-after") ?? undefined);
  if (retryAfter) message += `; retry after ${retryAfter}s`;
  if (format === "credential-process" && error === "invalid_request") {
    message += `\nnote: --format credential-process requests ${TOKEN_TYPE.awsCredentials}: the audience must name an AWS target`;
  }
  return new CliError(message, unavailable ? EXIT.unavailable : EXIT.refused);
}

function sanitize(text: string, secrets: readonly string[]): string {
  let out = text.slice(0, 500);
  for (const s of secrets) if (s) out = out.split(s).join("[redacted]");
  return out.replace(/\p{Cc}/gu, " ");
}

// --- output ------------------------------------------------------------------------------------------------

interface AwsDocument {
  Version: 1;
  AccessKeyId: string;
  SecretAccessKey: string;
  SessionToken?: string;
  Expiration?: string;
}

function render(format: Format, issued: Issued, body: unknown): string {
  switch (format) {
    case "json":
      return `${JSON.stringify(body)}\n`;
    case "token":
      return `${issued.accessToken}\n`;
    case "credential-process":
      if (issued.issuedTokenType !== TOKEN_TYPE.awsCredentials) {
        throw new CliError(
          `exchange: --format credential-process needs AWS credentials; the broker issued ${sanitize(issued.issuedTokenType, [])}`,
          EXIT.refused,
        );
      }
      awsDocument(issued.accessToken);
      return `${issued.accessToken}\n`;
    case "env":
      return envLines(issued);
  }
}

/** The AWS `credential_process` document the broker put in access_token (CONTRACT §3). */
function awsDocument(text: string): AwsDocument {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    doc = undefined;
  }
  if (
    !isRecord(doc) ||
    doc.Version !== 1 ||
    typeof doc.AccessKeyId !== "string" ||
    typeof doc.SecretAccessKey !== "string" ||
    (doc.SessionToken !== undefined && typeof doc.SessionToken !== "string") ||
    (doc.Expiration !== undefined && typeof doc.Expiration !== "string")
  ) {
    throw new CliError(
      "exchange: the broker's AWS credentials are not a credential_process document",
      EXIT.refused,
    );
  }
  return doc as unknown as AwsDocument;
}

/** POSIX shell single quoting: the value can contain anything, `'` included. */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

function envLines(issued: Issued): string {
  const vars: Array<[string, string | undefined]> = [];
  if (issued.issuedTokenType === TOKEN_TYPE.awsCredentials) {
    const doc = awsDocument(issued.accessToken);
    // The names the AWS CLI and SDKs read from the environment (AWS_CREDENTIAL_EXPIRATION included).
    vars.push(
      ["AWS_ACCESS_KEY_ID", doc.AccessKeyId],
      ["AWS_SECRET_ACCESS_KEY", doc.SecretAccessKey],
      ["AWS_SESSION_TOKEN", doc.SessionToken],
      ["AWS_CREDENTIAL_EXPIRATION", doc.Expiration],
    );
  } else {
    const expiresAt =
      issued.expiresIn === undefined
        ? undefined
        : new Date(Date.now() + issued.expiresIn * 1000).toISOString();
    vars.push(
      ["WIF_ACCESS_TOKEN", issued.accessToken],
      ["WIF_TOKEN_TYPE", issued.tokenType],
      ["WIF_ISSUED_TOKEN_TYPE", issued.issuedTokenType],
      ["WIF_EXPIRES_IN", issued.expiresIn === undefined ? undefined : String(issued.expiresIn)],
      ["WIF_EXPIRES_AT", expiresAt],
      ["WIF_SCOPE", issued.scope],
    );
  }
  return vars
    .filter((v): v is [string, string] => v[1] !== undefined)
    .map(([name, value]) => `export ${name}=${shellQuote(value)}\n`)
    .join("");
}
