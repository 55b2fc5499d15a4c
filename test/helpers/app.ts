import type { Hono } from "hono";
import { createApp } from "../../src/app.ts";
import type { AuditEvent } from "../../src/audit/event.ts";
import type { ExchangeOutcome, Exchanger } from "../../src/exchange/outcome.ts";
import type { TokenRequest } from "../../src/exchange/request.ts";
import { createClientIpResolver } from "../../src/http/client-ip.ts";
import type { AppDeps, AppEnv } from "../../src/http/deps.ts";
import { memoryLogger } from "../../src/observability/log.ts";
import { createMetrics, type Metrics } from "../../src/observability/metrics.ts";

export const ISSUED = {
  accessToken: "eyJ.issued.token",
  issuedTokenType: "urn:ietf:params:oauth:token-type:access_token",
  tokenType: "Bearer",
  expiresIn: 900,
  scope: "deploy:read",
  jti: "jti-1",
};

/** An exchanger that answers every request with `outcome` and remembers the requests it saw. */
export function fakeExchanger(outcome: ExchangeOutcome = { ok: true, issued: ISSUED }) {
  const seen: TokenRequest[] = [];
  const exchanger: Exchanger & { seen: TokenRequest[] } = {
    seen,
    exchange: async (req) => {
      seen.push(req);
      return outcome;
    },
  };
  return exchanger;
}

export interface FakeApp {
  app: Hono<AppEnv>;
  deps: AppDeps;
  audit: AuditEvent[];
  logs: string[];
  metrics: Metrics;
}

/** The real app over in-memory fakes, for `app.request()` without a socket: `const { app } = fakeApp()`. */
export function fakeApp(overrides: Partial<AppDeps> = {}): FakeApp {
  const audit: AuditEvent[] = [];
  const logger = memoryLogger();
  const metrics = createMetrics();
  let ids = 0;
  const deps: AppDeps = {
    issuer: "https://broker.example.com",
    verboseErrors: false,
    exchange: fakeExchanger(),
    keys: () => ({
      jwks: () => ({ keys: [{ kty: "EC", crv: "P-256", alg: "ES256", kid: "k1", x: "x", y: "y" }] }),
    }),
    policies: () => ({ scopesSupported: () => ["deploy:read"], grantedClaims: () => ["repo"] }),
    providers: () => [{ algorithms: ["RS256", "ES256"] }],
    readiness: () => ({ ready: true, components: { policies: { ok: true } } }),
    metrics,
    audit: { write: (e) => audit.push(e) },
    logger,
    clock: () => 1_700_000_000_000,
    newRequestId: () => `req-${++ids}`,
    clientIp: createClientIpResolver([]),
    shuttingDown: () => false,
    requestTimeoutMs: 10_000,
    brokerTokens: { active: async () => ({ ok: false, reason: "malformed" }) },
    revokers: [],
    dpop: { algorithms: ["ES256"], nonces: undefined },
    ...overrides,
  };
  return { app: createApp(deps), deps, audit, logs: logger.lines, metrics: deps.metrics };
}

/** POST /token with a form body through `app.request()`. */
export function postToken(
  app: Hono<AppEnv>,
  params: Record<string, string>,
  init: { contentType?: string; body?: string } = {},
) {
  return app.request("/token", {
    method: "POST",
    headers: { "content-type": init.contentType ?? "application/x-www-form-urlencoded" },
    body: init.body ?? new URLSearchParams(params).toString(),
  });
}
