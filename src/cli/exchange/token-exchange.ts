import { GRANT } from "../../exchange/request.ts";
import { TOKEN_TYPE } from "../../mint/types.ts";
import { brokerRefusal, tokenResponse } from "./broker-response.ts";
import { brokerEndpoint } from "./broker-url.ts";
import { EXIT } from "./exit-codes.ts";
import { render } from "./formats/render.ts";
import { Http } from "./http.ts";
import type { ExchangeOptions } from "./options.ts";
import { readSubjectToken } from "./token-sources/read-subject-token.ts";

/** Fetches the identity token, exchanges it at `<broker>/token` (RFC 8693 §2.1) and prints the credential. */
export async function exchangeToken(o: ExchangeOptions, env: NodeJS.ProcessEnv): Promise<number> {
  const deadline = AbortSignal.timeout(o.timeoutMs);
  const http = new Http(deadline, o.timeoutMs);
  const secrets: string[] = [];
  const subjectToken = await readSubjectToken(o, env, http, secrets);
  secrets.push(subjectToken);

  const form = new URLSearchParams({
    grant_type: GRANT.tokenExchange,
    subject_token: subjectToken,
    subject_token_type: TOKEN_TYPE.jwt,
    audience: o.audience,
  });
  if (o.scope !== undefined) form.set("scope", o.scope);
  if (o.requestedTokenType !== undefined) form.set("requested_token_type", o.requestedTokenType);

  const res = await http.send("the broker", brokerEndpoint(o.broker, "token"), {
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
