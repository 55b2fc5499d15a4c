import type { AuditSink } from "../audit/event.ts";
import type { Exchanger } from "../exchange/outcome.ts";
import type { BrokerTokenCheck } from "../identity/broker-token.ts";
import type { AccessTokenUse, DpopProof } from "../identity/dpop.ts";
import type { DpopNonces } from "../identity/dpop-nonce.ts";
import type { Logger } from "../observability/log.ts";
import type { Metrics } from "../observability/metrics.ts";
import type { Revoker } from "../revocation/types.ts";
import type { JwksPublisher } from "../signing/broker-keys.ts";
import type { Clock } from "../util/clock.ts";
import type { PlaygroundDeps } from "./routes/playground.ts";

export interface ComponentState {
  ok: boolean;
  [detail: string]: unknown;
}

export interface Readiness {
  ready: boolean;
  components: Record<string, ComponentState>;
}

/** What discovery says about the serving policy set (policy/policy-set.ts PolicySet implements it). */
export interface PolicyCatalogue {
  scopesSupported(): string[];
  grantedClaims(): string[];
}

/** A trusted issuer as discovery sees it: the algorithms its assertions may use. */
export interface AssertionIssuer {
  algorithms: readonly string[];
}

/** Is this an active broker JWT (identity/broker-token.ts BrokerTokenVerifier implements it)? */
export interface ActiveTokenCheck {
  active(token: string): Promise<BrokerTokenCheck>;
}

/** Everything the HTTP app needs, passed in: tests build the app with fakes in one line. */
export interface AppDeps {
  issuer: string;
  verboseErrors: boolean;
  exchange: Exchanger;
  keys: () => JwksPublisher;
  policies: () => PolicyCatalogue;
  providers: () => readonly AssertionIssuer[];
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
  brokerTokens: ActiveTokenCheck;
  /** Asked in order by /revoke (CONTRACT §10): broker JWTs, database passwords, GitHub tokens. */
  revokers: readonly Revoker[];
  /** `audit.claims` (CONTRACT §7): audit events carry the verified claims and the request. */
  auditClaims?: boolean;
  /** `playground.enabled` (CONTRACT §13): GET /playground exists only when this is set. */
  playground?: PlaygroundDeps;
  /** RFC 9449: proof algorithms for discovery, and the server nonce for `DPoP-Nonce` when nonces are on. */
  dpop: DpopSettings;
}

export interface DpopSettings {
  readonly algorithms: readonly string[];
  readonly nonces: Pick<DpopNonces, "current"> | undefined;
  /** RFC 9449 §7.1 at /introspect: a proof with a DPoP-bound access token; absent → the DPoP scheme is refused. */
  verifyWithAccessToken?(proof: string, use: AccessTokenUse): Promise<DpopProof>;
}

export type AppEnv = {
  Variables: {
    requestId: string;
    /** Set by the app's first middleware; every response carries them (http/respond.ts). */
    responseHeaders: Record<string, string>;
  };
};
