import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AuditEvent } from "../../src/audit/event.ts";
import { parseConfig } from "../../src/config/load.ts";
import { DemoIssuer } from "../../src/dev/demo-issuer.ts";
import { type BrokerOptions, type RunningBroker, startBroker } from "../../src/main.ts";
import { memoryLogger } from "../../src/observability/log.ts";

export const BROKER_ISSUER = "https://broker.example.com";
export const TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange";
export const JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer";
export const JWT_TYPE = "urn:ietf:params:oauth:token-type:jwt";
export const CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

export interface TestBroker {
  url: string;
  idp: DemoIssuer;
  broker: RunningBroker;
  audit: AuditEvent[];
  logs: string[];
  policyDir: string;
  /** POSTs a form to /token; array values repeat the parameter. */
  post(
    params: Record<string, string | string[]>,
    init?: { contentType?: string; body?: string },
  ): Promise<Response>;
  /** A token-exchange request for `token` and `audience`. */
  exchange(token: string, audience: string, extra?: Record<string, string | string[]>): Promise<Response>;
  close(): Promise<void>;
}

export function formBody(params: Record<string, string | string[]>): string {
  const form = new URLSearchParams();
  for (const [k, v] of Object.entries(params))
    for (const value of Array.isArray(v) ? v : [v]) form.append(k, value);
  return form.toString();
}

export interface TestBrokerOptions extends BrokerOptions {
  /** YAML text of the policies file. */
  policies: string;
  /** Extra config members (merged over the test defaults). */
  config?: Record<string, unknown>;
  /** Extra providers besides `github` (the demo issuer). */
  providers?: Array<Record<string, unknown>>;
  idp?: DemoIssuer;
}

/** A real broker on a loopback port, trusting a loopback demo issuer as provider `github`. */
export async function startTestBroker(options: TestBrokerOptions): Promise<TestBroker> {
  const idp = options.idp ?? (await DemoIssuer.start());
  try {
    return await startWithIssuer(options, idp);
  } catch (e) {
    if (!options.idp) await idp.close();
    throw e;
  }
}

async function startWithIssuer(options: TestBrokerOptions, idp: DemoIssuer): Promise<TestBroker> {
  const policyDir = mkdtempSync(join(tmpdir(), "wif-policies-"));
  writeFileSync(join(policyDir, "policies.yaml"), options.policies);
  const config = parseConfig(
    {
      issuer: BROKER_ISSUER,
      listen: { host: "127.0.0.1", port: 0 },
      policies: policyDir,
      providers: [{ name: "github", issuer: idp.url, allowInsecureHttp: true }, ...(options.providers ?? [])],
      ...options.config,
    },
    "(test)",
    process.cwd(),
  );
  const audit: AuditEvent[] = [];
  const logger = memoryLogger();
  const broker = await startBroker(config, {
    watchPolicies: false,
    ...options,
    logger: options.logger ?? logger,
    audit: options.audit ?? { write: (e) => audit.push(e) },
  });
  const post: TestBroker["post"] = (params, init = {}) =>
    fetch(`${broker.url}/token`, {
      method: "POST",
      headers: { "content-type": init.contentType ?? "application/x-www-form-urlencoded" },
      body: init.body ?? formBody(params),
    });
  return {
    url: broker.url,
    idp,
    broker,
    audit,
    logs: logger.lines,
    policyDir,
    post,
    exchange: (token, audience, extra = {}) =>
      post({
        grant_type: TOKEN_EXCHANGE,
        subject_token: token,
        subject_token_type: JWT_TYPE,
        audience,
        ...extra,
      }),
    async close() {
      await broker.close();
      if (!options.idp) await idp.close();
    },
  };
}

/** A GitHub-Actions policy pinned to the fixture's owner and repository IDs. */
export const GITHUB_POLICY = `
apiVersion: wif-broker/v1
kind: TrustPolicy
metadata: { name: octo-deploy }
spec:
  provider: github
  match:
    repository_owner_id: "65"
    repository_id: "74"
    ref: { glob: "refs/heads/*" }
  grant:
    ttl: 15m
    subject: "github:{{claims.repository}}"
    claims: { repo: "{{claims.repository}}", sha: "{{claims.sha}}" }
    targets:
      - audience: https://deploy.acme.internal
        scopes: [deploy:read, deploy:write]
        defaultScopes: [deploy:read]
      - audience: https://noscope.acme.internal
`;
