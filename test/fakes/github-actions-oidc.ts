import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import type { DemoIssuer } from "../../src/dev/demo-issuer.ts";
import { closeServer, jsonResponder, listenOnLoopback } from "./loopback.ts";

/**
 * A loopback fake of the GitHub Actions OIDC token endpoint: what a job with `permissions: id-token: write`
 * finds in ACTIONS_ID_TOKEN_REQUEST_URL (a URL that already carries `?api-version=2.0`) and
 * ACTIONS_ID_TOKEN_REQUEST_TOKEN. GET `&audience=…` with `Authorization: Bearer <request token>` answers
 * `{"count":…,"value":"<JWT>"}`, the JWT signed by `issuer` with the job's claims and the requested `aud`.
 */
export interface FakeActionsOidc {
  /** ACTIONS_ID_TOKEN_REQUEST_URL */
  requestUrl: string;
  /** ACTIONS_ID_TOKEN_REQUEST_TOKEN */
  requestToken: string;
  /** The audiences requested so far, in order. */
  audiences: string[];
  /** Every ID token handed out. */
  issued: string[];
  close(): Promise<void>;
}

export async function startFakeActionsOidc(
  issuer: DemoIssuer,
  claims: Record<string, unknown>,
): Promise<FakeActionsOidc> {
  const requestToken = randomBytes(24).toString("base64url");
  const audiences: string[] = [];
  const issued: string[] = [];
  const server = createServer((req, res) => {
    const send = jsonResponder(res);
    const url = new URL(req.url ?? "/", "http://fake");
    if (req.method !== "GET" || url.pathname !== "/_apis/distributedtask/oidc/token") {
      return send(404, { message: "not found" });
    }
    if (req.headers.authorization !== `Bearer ${requestToken}`) return send(401, { message: "unauthorized" });
    const audience = url.searchParams.get("audience");
    if (url.searchParams.get("api-version") !== "2.0" || !audience)
      return send(400, { message: "bad request" });
    audiences.push(audience);
    const token = issuer.mint({ ...claims, aud: audience });
    issued.push(token);
    send(200, { count: token.length, value: token });
  });
  const port = await listenOnLoopback(server);
  return {
    requestUrl: `http://127.0.0.1:${port}/_apis/distributedtask/oidc/token?api-version=2.0`,
    requestToken,
    audiences,
    issued,
    close: () => closeServer(server),
  };
}
