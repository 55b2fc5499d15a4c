import { CliError } from "../../shared.ts";
import { EXIT, exitFor } from "../exit-codes.ts";
import type { Http } from "../http.ts";
import { isRecord } from "../is-record.ts";
import { compactJws } from "./compact-jws.ts";

/** GitHub Actions: GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=…, authorized by $ACTIONS_ID_TOKEN_REQUEST_TOKEN. */
export async function githubActionsToken(
  audience: string,
  env: NodeJS.ProcessEnv,
  http: Http,
  secrets: string[],
) {
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
