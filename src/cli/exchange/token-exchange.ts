import { GRANT } from "../../exchange/request.ts";
import { TOKEN_TYPE } from "../../mint/types.ts";
import { brokerRefusal, type Issued, tokenResponse } from "./broker-response.ts";
import { brokerEndpoint } from "./broker-url.ts";
import { EXIT } from "./exit-codes.ts";
import type { Format } from "./formats/format.ts";
import { render } from "./formats/render.ts";
import { Http } from "./http.ts";
import type { ExchangeOptions } from "./options.ts";
import { answerExpiresAt, responseCache } from "./response-cache.ts";
import { readSubjectToken } from "./token-sources/read-subject-token.ts";

/** Fetches the identity token, exchanges it at `<broker>/token` (RFC 8693 §2.1) and prints the credential. */
export async function exchangeToken(o: ExchangeOptions, env: NodeJS.ProcessEnv): Promise<number> {
  const cache = o.cache ? responseCache(o, env) : undefined;
  const cached = cache?.read(Date.now());
  if (cached !== undefined) {
    process.stdout.write(render(o.format, tokenResponse(cached), cached));
    return EXIT.ok;
  }
  const deadline = AbortSignal.timeout(o.timeoutMs);
  const http = new Http(deadline, o.timeoutMs);
  const secrets: string[] = [];
  const subjectToken = await readSubjectToken(o, env, http, secrets);
  secrets.push(subjectToken);
  const fetchedAt = Date.now();
  const { issued, body } = await postTokenExchange(http, o, subjectToken, secrets);
  const output = render(o.format, issued, body);
  const expiresAt = cache ? answerExpiresAt(body, fetchedAt) : undefined;
  if (cache && expiresAt !== undefined) cache.write(body, expiresAt);
  process.stdout.write(output);
  return EXIT.ok;
}

export interface TokenExchangeParams {
  broker: URL;
  audience: string;
  scope: string | undefined;
  requestedTokenType: string | undefined;
  format: Format | undefined;
}

/** One RFC 8693 token exchange at `<broker>/token`; a refusal is a CliError without any of `secrets` in it. */
export async function postTokenExchange(
  http: Http,
  p: TokenExchangeParams,
  subjectToken: string,
  secrets: readonly string[],
): Promise<{ issued: Issued; body: unknown }> {
  const form = new URLSearchParams({
    grant_type: GRANT.tokenExchange,
    subject_token: subjectToken,
    subject_token_type: TOKEN_TYPE.jwt,
    audience: p.audience,
  });
  if (p.scope !== undefined) form.set("scope", p.scope);
  if (p.requestedTokenType !== undefined) form.set("requested_token_type", p.requestedTokenType);

  const res = await http.send("the broker", brokerEndpoint(p.broker, "token"), {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
    body: form,
  });
  const body = await http.json("the broker", res);
  if (!res.ok) throw brokerRefusal(res, body, secrets, p.format);
  return { issued: tokenResponse(body), body };
}
