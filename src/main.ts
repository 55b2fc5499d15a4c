import type { AddressInfo } from "node:net";
import type { ServerType } from "@hono/node-server";
import type { Hono } from "hono";
import { createApp } from "./app.ts";
import { type AuditSink, streamAuditSink } from "./audit/event.ts";
import type { Config } from "./config/schema.ts";
import { type ExchangeDeps, ExchangeService } from "./exchange/service.ts";
import { tracedExchangeDeps } from "./exchange/traced-deps.ts";
import { createClientIpResolver } from "./http/client-ip.ts";
import type { AppEnv } from "./http/deps.ts";
import type { PlaygroundAssets } from "./http/routes/playground.ts";
import { closeGracefully, type HttpTimeouts, listen } from "./http/server.ts";
import { BrokerTokenVerifier } from "./identity/broker-token.ts";
import { DpopVerifier } from "./identity/dpop.ts";
import { DpopNonces } from "./identity/dpop-nonce.ts";
import type { KeyCachePolicy } from "./identity/jwks.ts";
import { IdentityVerifier } from "./identity/verifier.ts";
import type { DatabaseTargets } from "./mint/database/index.ts";
import { GithubApi } from "./mint/github/api.ts";
import { createLogger, type Logger } from "./observability/log.ts";
import { createMetrics } from "./observability/metrics.ts";
import { redact } from "./observability/sanitize.ts";
import { throttledWarn } from "./observability/throttled-log.ts";
import { tracingSettings } from "./observability/tracing-env.ts";
import type { TracingSdk } from "./observability/tracing-sdk.ts";
import { DEFAULT_TTL_SECONDS } from "./policy/evaluate.ts";
import { formatProblem } from "./policy/parse.ts";
import { brokerJwtRevoker } from "./revocation/broker-jwt.ts";
import { storeDenyList } from "./revocation/deny-list.ts";
import { githubRevoker } from "./revocation/github.ts";
import { KeySource } from "./runtime/key-source.ts";
import { playgroundDeps, readPlaygroundAssets } from "./runtime/playground.ts";
import { PolicySource, providerFacts } from "./runtime/policy-source.ts";
import { createProviders } from "./runtime/providers.ts";
import { createReadiness } from "./runtime/readiness.ts";
import { createMinters, type MinterOverrides } from "./runtime/targets.ts";
import type { BrokerKeys } from "./signing/broker-keys.ts";
import { createKmsKeyRing, type KmsIdentity } from "./signing/from-config.ts";
import { createStore } from "./store/index.ts";
import { type Clock, epochSeconds, systemClock } from "./util/clock.ts";
import { newRequestId } from "./util/request-id.ts";

export type { HttpTimeouts };

export interface BrokerOptions {
  logger?: Logger;
  audit?: AuditSink;
  clock?: Clock;
  fetchImpl?: typeof fetch;
  keyCachePolicy?: KeyCachePolicy;
  minters?: MinterOverrides;
  /** HTTP server timeouts (defaults: headers 10 s, request 30 s, keep-alive 5 s, checked every second). */
  http?: HttpTimeouts;
  /** Watch the policy path and the keys directory for changes (default true). */
  watchPolicies?: boolean;
  /** The broker's identity towards AWS KMS / Cloud KMS (default: the SDK chains). */
  kms?: KmsIdentity;
  /** Seconds readiness reports not-ready before the listener closes on shutdown (load balancers catch up). */
  shutdownDelayMs?: number;
  /** The playground's browser bundle (default: read from dist/web/playground when `playground.enabled`). */
  playgroundAssets?: PlaygroundAssets;
}

export interface RunningBroker {
  url: string;
  port: number;
  /** The Hono app, for in-process requests (`app.request()`) in tests and benchmarks. */
  app: Hono<AppEnv>;
  policies: PolicySource;
  reload(): void;
  /** Graceful: readiness fails first, then in-flight requests drain, then stores close. */
  close(): Promise<void>;
}

export class StartupError extends Error {
  override name = "StartupError";
}

/** Wires config → stores → providers → app and listens. The only place that touches process state. */
export async function startBroker(config: Config, options: BrokerOptions = {}): Promise<RunningBroker> {
  const logger = options.logger ?? createLogger();
  const clock = options.clock ?? systemClock;
  // Google's SDK logging prints request and response bodies, minted access tokens included: never on here.
  if (process.env.GOOGLE_SDK_NODE_LOGGING) {
    logger.warn({}, "GOOGLE_SDK_NODE_LOGGING is set: cleared, because it would log minted access tokens");
    delete process.env.GOOGLE_SDK_NODE_LOGGING;
  }
  // CONTRACT §14: the standard OTEL_* environment turns tracing on; without it no SDK module is loaded.
  const tracingWanted = tracingSettings(process.env);
  if ("problem" in tracingWanted) throw new StartupError(`cannot set up tracing: ${tracingWanted.problem}`);
  const metrics = createMetrics();
  const playgroundAssets = config.playground.enabled
    ? (options.playgroundAssets ?? readPlaygroundAssets())
    : undefined;
  const audit = options.audit ?? streamAuditSink();
  const requestIds = () => newRequestId(clock());

  // CONTRACT §12: with signing.kms no key is generated or read from disk; public keys come from the KMS.
  // Certified keys are shared through the store, which exists only further down: reached once keys.start() runs.
  const keys: BrokerKeys = config.signing.kms
    ? await createKmsKeyRing(config, {
        logger,
        clock,
        ...(options.kms ? { identity: options.kms } : {}),
        directory: {
          publish: (kid, statement, exp) => store.certifiedKeys.publish(kid, statement, exp),
          list: () => store.certifiedKeys.list(),
        },
      })
    : new KeySource(config.signing.keysDir, config.signing.algorithm, config.issuer, clock, logger);

  const policies = new PolicySource(
    config.policies,
    {
      providers: providerFacts(config),
    },
    logger,
    metrics,
  );
  const problems = policies.reload();
  if (problems.length > 0)
    throw new StartupError(`invalid policies:\n${problems.map(formatProblem).join("\n")}`);
  if (options.watchPolicies !== false) {
    policies.watch();
    keys.watch();
  }

  // Every store error counts in metrics; the log gets at most one line per 10 s during an outage.
  const warnStore = throttledWarn(logger, clock, "store error");
  const store = createStore(config.store.redis, {
    clock,
    commandTimeoutMs: config.store.commandTimeout * 1000,
    onError: (e) => {
      metrics.storeErrors.inc({ operation: e.op });
      warnStore({ operation: e.op, error: e.message });
    },
  });
  // Serve store-backed requests from the first one when Redis is there; start anyway when it is not.
  await store
    .ready?.(2000)
    .catch(() =>
      logger.warn({}, "redis not reachable at start-up; store-backed requests answer 503 until it is"),
    );
  await keys.start();
  if (!keys.ready())
    logger.warn({}, "KMS signing key not available yet: not ready, retrying in the background");
  // A failure from here on (a missing kubeconfig, a port in use) must not leave Redis or watchers holding the process.
  let databases: DatabaseTargets | undefined;
  let tracing: TracingSdk | undefined;
  const abandon = async () => {
    policies.close();
    keys.close();
    await databases?.close();
    await store.close();
    await tracing?.shutdown();
  };
  let providers: Awaited<ReturnType<typeof createProviders>>;
  let minters: Awaited<ReturnType<typeof createMinters>>;
  try {
    if (tracingWanted.enabled) {
      const { startTracingSdk } = await import("./observability/tracing-sdk.ts");
      tracing = await startTracingSdk(tracingWanted.protocol, { logger, clock });
    }
    providers = await createProviders(config, {
      clock,
      metrics,
      logger,
      ...(options.fetchImpl ? { fetchImpl: options.fetchImpl } : {}),
      ...(options.keyCachePolicy ? { keyCachePolicy: options.keyCachePolicy } : {}),
    });
    minters = await createMinters(config, keys.signer(), clock, options.minters, options.kms);
    if (config.targets.postgres || config.targets.mysql) {
      const { createDatabaseTargets } = await import("./mint/database/index.ts");
      databases = await createDatabaseTargets(config, {
        clock,
        audit,
        metrics,
        logger,
        newRequestId: requestIds,
      });
      for (const m of databases?.minters ?? []) if (!options.minters?.[m.kind]) minters.set(m.kind, m);
    }
  } catch (e) {
    await abandon();
    throw new StartupError(
      // A kubeconfig parser may quote the file (bearer tokens): the message passes the sanitiser.
      `cannot set up providers and targets: ${redact(e instanceof Error ? e.message : "error")}`,
    );
  }
  const denyList = storeDenyList(store);
  const brokerTokens = new BrokerTokenVerifier(keys.current, config.issuer, clock, denyList);
  const decisionLimits = {
    maxTtl: config.limits.maxTtl,
    defaultTtl: Math.min(DEFAULT_TTL_SECONDS, config.limits.maxTtl),
    maxDelegationDepth: config.limits.maxDelegationDepth,
  };
  const base = config.issuer.endsWith("/") ? config.issuer.slice(0, -1) : config.issuer;
  const dpop = new DpopVerifier({
    tokenEndpoint: `${base}/token`,
    introspectionEndpoint: `${base}/introspect`,
    algorithms: config.dpop.algorithms,
    clock,
    replay: store.replay,
    nonces: config.dpop.nonce ? new DpopNonces(store.replay, clock) : undefined,
  });
  const verifier = new IdentityVerifier({ providers, clock, clockSkew: config.limits.clockSkew });
  const exchangeDeps: ExchangeDeps = {
    verifier,
    policies: policies.current,
    minters,
    store,
    limits: decisionLimits,
    clock,
    dpop,
    brokerIssuer: config.issuer,
    denyList,
  };
  const exchange = new ExchangeService(tracing ? tracedExchangeDeps(exchangeDeps) : exchangeDeps);

  let shuttingDown = false;
  const readiness = createReadiness({
    policies,
    signingKeys: keys,
    store,
    providers: () => providers,
    shuttingDown: () => shuttingDown,
  });

  const app = createApp({
    issuer: config.issuer,
    verboseErrors: config.errors.verbose,
    exchange,
    keys: keys.current,
    policies: policies.current,
    providers: () => providers,
    readiness,
    metrics,
    audit,
    logger,
    clock,
    newRequestId: requestIds,
    clientIp: createClientIpResolver(config.http.trustedProxies),
    requestTimeoutMs: 10_000,
    shuttingDown: () => shuttingDown,
    brokerTokens,
    dpop,
    revokers: [
      brokerJwtRevoker(brokerTokens, denyList, () => epochSeconds(clock)),
      ...(databases ? [databases.revoker] : []),
      ...(config.targets.github
        ? [githubRevoker(new GithubApi(config.targets.github.apiUrl, clock, options.fetchImpl))]
        : []),
    ],
    auditClaims: config.audit.claims,
    ...(playgroundAssets
      ? { playground: playgroundDeps(config, policies, decisionLimits, playgroundAssets) }
      : {}),
  });

  let server: ServerType;
  try {
    server = await listen(app.fetch, config.listen.host, config.listen.port, options.http ?? {});
  } catch (e) {
    await abandon();
    throw new StartupError(
      `cannot listen on ${config.listen.host}:${config.listen.port}: ${(e as NodeJS.ErrnoException).code ?? "error"}`,
    );
  }
  const port = (server.address() as AddressInfo).port;
  const host =
    config.listen.host === "0.0.0.0" || config.listen.host === "::" ? "127.0.0.1" : config.listen.host;
  // The first round runs now: a lease that expired while every broker was down is revoked at this start.
  databases?.reaper.start();
  logger.info(
    { port, issuer: config.issuer, policies: policies.status().policies, store: store.status().kind },
    "wif-broker listening",
  );

  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
    app,
    port,
    policies,
    reload: () => {
      policies.reload();
      keys.reload();
    },
    async close() {
      shuttingDown = true;
      await new Promise((r) => setTimeout(r, options.shutdownDelayMs ?? 0));
      policies.close();
      keys.close();
      await databases?.reaper.stop();
      await closeGracefully(server);
      await databases?.close();
      await store.close();
      // Last: every request's spans have ended; the buffered ones are exported before the process exits.
      await tracing?.shutdown();
    },
  };
}
