import { parseBrokerUrl } from "../../src/cli/exchange/broker-url.ts";
import { Http } from "../../src/cli/exchange/http.ts";
import { postTokenExchange } from "../../src/cli/exchange/token-exchange.ts";
import { idTokenAudience } from "../../src/cli/exchange/token-sources/id-token-audience.ts";
import { credentialOutputs } from "./credential-outputs.ts";

/** The parts of @actions/core the action uses (the entry point binds them; tests may bind fakes). */
export interface ActionRuntime {
  getInput(name: string, options?: { required?: boolean }): string;
  getIDToken(audience: string): Promise<string>;
  setSecret(value: string): void;
  setOutput(name: string, value: string): void;
  exportVariable(name: string, value: string): void;
  info(message: string): void;
}

/**
 * `format` input: `env` exports the credential to later steps' environment too; `pg-env` / `mysql-env` export
 * database credentials as PG* / MYSQL_* variables; `outputs` only sets outputs.
 */
const ACTION_FORMATS = ["env", "outputs", "pg-env", "mysql-env"] as const;
type ActionFormat = (typeof ACTION_FORMATS)[number];

const TIMEOUT_MS = 30_000;

export class ActionInputError extends Error {
  override name = "ActionInputError";
}

/**
 * The GitHub Action: a GitHub OIDC token for the broker's audience, exchanged at `<broker-url>/token`
 * (RFC 8693), every credential masked before it is set as an output or exported.
 */
export async function runAction(core: ActionRuntime): Promise<void> {
  const brokerInput = core.getInput("broker-url", { required: true });
  const audience = core.getInput("audience", { required: true });
  const scope = core.getInput("scope").split(/\s+/).filter(Boolean).join(" ") || undefined;
  const format = core.getInput("format") || "env";
  if (!isActionFormat(format))
    throw new ActionInputError(`format must be one of ${ACTION_FORMATS.join(", ")}`);
  const requestedTokenType = core.getInput("requested-token-type") || undefined;
  let broker: URL;
  try {
    broker = parseBrokerUrl(brokerInput);
  } catch {
    throw new ActionInputError("broker-url must be an http(s) URL without query or fragment");
  }

  const http = new Http(AbortSignal.timeout(TIMEOUT_MS), TIMEOUT_MS);
  const idAudience = await idTokenAudience(core.getInput("id-token-audience") || undefined, broker, http);
  let idToken: string;
  try {
    idToken = await core.getIDToken(idAudience);
  } catch {
    // @actions/core's message may quote the OIDC endpoint's answer; ours names the usual cause.
    throw new ActionInputError(
      'cannot get a GitHub OIDC token (does the job have "permissions: id-token: write"?)',
    );
  }
  core.setSecret(idToken);
  const { issued } = await postTokenExchange(
    http,
    { broker, audience, scope, requestedTokenType, format: undefined },
    idToken,
    [idToken],
  );

  const database = format === "pg-env" || format === "mysql-env" ? format : undefined;
  const { outputs, env, secrets } = credentialOutputs(issued, database);
  for (const secret of secrets) core.setSecret(secret);
  for (const [name, value] of Object.entries(outputs)) core.setOutput(name, value);
  const exporting = format !== "outputs";
  if (exporting) for (const [name, value] of Object.entries(env)) core.exportVariable(name, value);
  core.info(
    `wif-broker: ${issued.issuedTokenType} for ${audience}` +
      (issued.expiresIn === undefined ? "" : `, expires in ${issued.expiresIn}s`) +
      (exporting ? `; exported ${Object.keys(env).join(", ")}` : ""),
  );
}

const isActionFormat = (f: string): f is ActionFormat => (ACTION_FORMATS as readonly string[]).includes(f);
