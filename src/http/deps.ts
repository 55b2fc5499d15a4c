import type { AuditSink } from "../audit/event.ts";
import type { ExchangeService } from "../exchange/service.ts";
import type { BrokerTokenVerifier } from "../identity/broker-token.ts";
import type { Provider } from "../identity/verifier.ts";
import type { Logger } from "../observability/log.ts";
import type { Metrics } from "../observability/metrics.ts";
import type { PolicySet } from "../policy/policy-set.ts";
import type { Revoker } from "../revocation/types.ts";
import type { JwksPublisher } from "../signing/broker-keys.ts";
import type { Clock } from "../util/clock.ts";

export interface ComponentState {
  ok: boolean;
  [detail: string]: unknown;
}

export interface Readiness {
  ready: boolean;
  components: Record<string, ComponentState>;
}

/** Everything the HTTP app needs, passed in: tests build the app with fakes in one line. */
export interface AppDeps {
  issuer: string;
  verboseErrors: boolean;
  exchange: ExchangeService;
  keys: () => JwksPublisher;
  policies: () => PolicySet;
  providers: () => readonly Provider[];
  readiness: () => Readiness;
  metrics: Metrics;
  audit: AuditSink;
  logger: Logger;
  clock: Clock;
  newRequestId: () => string;
  /** The client address from the socket (and trusted proxies); undefined when there is no socket (tests). */
  clientIp: (socketAddress: string | undefined, forwardedFor: string | undefined) => string | undefined;
  /** True from the moment shutdown begins: responses then close their connection (no keep-alive). */
  shuttingDown: () => boolean;
  /** Deadline for one /token request's upstream minting calls, counted from its arrival (issuer key fetches have their own 5 s bound). */
  requestTimeoutMs: number;
  /** Checks the broker's own JWTs (signature, expiry, deny-list) for /introspect. */
  brokerTokens: BrokerTokenVerifier;
  /** Asked in order by /revoke (CONTRACT §10): broker JWTs, database passwords, GitHub tokens. */
  revokers: readonly Revoker[];
}

export type AppEnv = { Variables: { requestId: string } };
