import type { ProviderRef, VerifiedIdentity } from "../identity/types.ts";
import type { IssuedToken } from "../mint/types.ts";
import type { Decision } from "../policy/types.ts";
import type { TokenRequest } from "./request.ts";

/** What one exchange learned on its way, whichever exit it took: the audit event and the metrics come from this. */
export interface Learned {
  /** The configured provider the token named; on success, the one whose keys verified it. */
  provider?: ProviderRef;
  identity?: VerifiedIdentity;
  /** The verified actor token (RFC 8693 §2.1), when delegated. */
  actor?: VerifiedIdentity;
  /** The DPoP proof key's thumbprint (RFC 7638), when the request carried a valid proof. */
  dpopJkt?: string;
  decision?: Decision;
  /** The clock reading the decision used (epoch ms), so `policy diff` replays it at the same instant. */
  decidedAt?: number;
}

/** The value an exchange ends with: a credential, or the failure (a BrokerError, or anything else → 500). */
export type ExchangeOutcome = Learned & ({ ok: true; issued: IssuedToken } | { ok: false; error: unknown });

/** Anything that performs exchanges: the HTTP layer depends on this, not on the service class. */
export interface Exchanger {
  exchange(req: TokenRequest, ctx: ExchangeContext): Promise<ExchangeOutcome>;
}

export interface ExchangeContext {
  requestId: string;
  /** The request's deadline; read only by minters that call an upstream. */
  readonly signal: AbortSignal;
}
