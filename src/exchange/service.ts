import { BrokerError, badToken } from "../errors.ts";
import type { DpopProof, DpopVerifier } from "../identity/dpop.ts";
import type { Verification, VerifiedIdentity } from "../identity/types.ts";
import type { IssuedToken, Minter } from "../mint/types.ts";
import { TOKEN_TYPE } from "../mint/types.ts";
import { ATTR, tracedSync } from "../observability/tracing.ts";
import { type DecisionLimits, decide } from "../policy/evaluate.ts";
import type { PolicySet } from "../policy/policy-set.ts";
import type { Decision, Grant, TargetKind } from "../policy/types.ts";
import type { ActorReason } from "../reasons.ts";
import type { DenyList } from "../revocation/deny-list.ts";
import type { Store } from "../store/types.ts";
import type { Clock } from "../util/clock.ts";
import type { ExchangeContext, ExchangeOutcome, Exchanger, Learned } from "./outcome.ts";
import type { TokenRequest } from "./request.ts";

/** The verify stage as the exchange sees it (identity/verifier.ts implements it). */
export interface Verifier {
  check(token: string): Promise<Verification>;
}

export interface ExchangeDeps {
  verifier: Verifier;
  /** The current policy set; swapped whole on reload, so one request sees one set. */
  policies: () => PolicySet;
  minters: ReadonlyMap<TargetKind, Minter>;
  store: Pick<Store, "replay" | "rateLimiter">;
  limits: DecisionLimits;
  clock: Clock;
  /** RFC 9449 proof checks; absent → a DPoP header is refused. */
  dpop?: DpopVerifier;
  /** The broker's own issuer and deny-list: a revoked broker JWT presented back to /token is refused. */
  brokerIssuer?: string;
  denyList?: DenyList;
}

/** How long past `exp` a consumed jti is remembered. */
const REPLAY_MARGIN_SECONDS = 300;

/** Token types a client may request per target kind (RFC 8693 §2.1 requested_token_type). */
const ACCEPTED_TOKEN_TYPES: Record<TargetKind, readonly string[]> = {
  jwt: [TOKEN_TYPE.accessToken, TOKEN_TYPE.jwt, TOKEN_TYPE.txnToken],
  aws: [TOKEN_TYPE.awsCredentials, TOKEN_TYPE.rdsAuthToken],
  gcp: [TOKEN_TYPE.accessToken, TOKEN_TYPE.idToken],
  github: [TOKEN_TYPE.accessToken],
  kubernetes: [TOKEN_TYPE.jwt, TOKEN_TYPE.accessToken],
  postgres: [TOKEN_TYPE.databaseCredentials],
  mysql: [TOKEN_TYPE.databaseCredentials],
};

const DENY_KIND = {
  no_policy: "bad_subject_token",
  template: "bad_subject_token",
  invalid_target: "invalid_target",
  invalid_scope: "invalid_scope",
  // CONTRACT §9: an actor that no `actors` entry admits, a may_act mismatch or a chain too deep → invalid_request.
  actor: "invalid_request",
  token_type: "invalid_request",
  dpop_required: "invalid_dpop_proof",
} as const;

/** The decide span: allow or deny, the admitting policy, and a refusal's reason code (never a claim value). */
const decisionSpan = (d: Decision) => ({
  attributes: d.allow
    ? { [ATTR.result]: "allow", [ATTR.policy]: d.grant.policy }
    : { [ATTR.result]: "deny", [ATTR.reason]: d.reason, [ATTR.policy]: d.policy },
});

const decideInSpan: typeof decide = (policies, identity, request, limits) =>
  tracedSync(
    "decide",
    { [ATTR.provider]: identity.provider },
    () => decide(policies, identity, request, limits),
    decisionSpan,
  );

/** verify → decide → (rate limit, replay) → mint. Pure orchestration; every failure is an outcome, not a throw. */
export class ExchangeService implements Exchanger {
  readonly #d: ExchangeDeps;

  constructor(deps: ExchangeDeps) {
    this.#d = deps;
  }

  /** Never throws: every exit is an outcome, with what was learned up to it. */
  async exchange(req: TokenRequest, ctx: ExchangeContext): Promise<ExchangeOutcome> {
    const learned: Learned = {};
    try {
      const issued = await this.#run(req, ctx, learned);
      return { ...learned, ok: true, issued };
    } catch (error) {
      return { ...learned, ok: false, error };
    }
  }

  async #run(req: TokenRequest, ctx: ExchangeContext, learned: Learned): Promise<IssuedToken> {
    const verification = await this.#d.verifier.check(req.subjectToken);
    if (!verification.ok) {
      // For audit and metrics of the failure: a configured provider's name and issuer only, never token content.
      if (verification.provider) learned.provider = verification.provider;
      throw verification.error;
    }
    const { identity } = verification;
    learned.provider = { name: identity.provider, issuer: identity.issuer };
    learned.identity = identity;
    await this.#refuseRevoked(identity, badToken);
    // draft-ietf-oauth-transaction-tokens §13.12: a Txn-Token is not an authentication credential.
    if (identity.issuer === this.#d.brokerIssuer && typeof identity.claims.txn === "string")
      throw badToken("jwt.txn_token_as_subject", "a Transaction Token cannot be exchanged");
    const proof = await this.#checkDpop(req, identity);
    if (proof) learned.dpopJkt = proof.jkt;
    const actor = req.actorToken === undefined ? undefined : await this.#verifyActor(req.actorToken);
    if (actor) learned.actor = actor;

    learned.decidedAt = this.#d.clock();
    const decision = decideInSpan(
      this.#d.policies(),
      identity,
      {
        audience: req.audience,
        scopes: req.scopes,
        sourceIp: req.sourceIp,
        now: learned.decidedAt,
        clientId: req.clientId,
        ...(actor ? { actor } : {}),
        ...(req.requestedTokenType === TOKEN_TYPE.txnToken ? { txnToken: true } : {}),
        ...(proof ? { dpop: true } : {}),
      },
      this.#d.limits,
    );
    learned.decision = decision;
    if (!decision.allow)
      throw new BrokerError(DENY_KIND[decision.code], {
        reason: decision.reason,
        detail: decision.detail,
        ...(decision.refusedScopes?.length ? { refused: decision.refusedScopes.join(" ") } : {}),
      });
    const { grant } = decision;

    if (
      req.requestedTokenType !== undefined &&
      !ACCEPTED_TOKEN_TYPES[grant.target.kind].includes(req.requestedTokenType)
    ) {
      throw new BrokerError("invalid_request", {
        reason: "request.unsupported_token_type",
        detail: "requested_token_type cannot be issued for this target",
      });
    }
    const minter = this.#d.minters.get(grant.target.kind);
    if (!minter) {
      throw new BrokerError("invalid_target", {
        reason: "target.unconfigured",
        detail: `${grant.target.kind} targets are not configured`,
      });
    }
    await this.#rateLimit(grant, identity);
    const replayKey = await this.#checkReplay(grant, identity);

    const now = this.#d.clock();
    // `signal` stays a getter: the deadline timer exists only for minters that call an upstream.
    const issued = await minter.mint(grant, {
      requestId: ctx.requestId,
      now,
      get signal() {
        return ctx.signal;
      },
      ...(proof && grant.target.kind === "jwt" && !grant.txnToken
        ? { confirmation: { jkt: proof.jkt } }
        : {}),
      ...(grant.txnToken
        ? {
            transaction: {
              sourceIp: req.sourceIp,
              requestContext: req.requestContext,
              requestDetails: req.requestDetails,
            },
          }
        : {}),
    });
    // The jti is consumed only once minting succeeded, so a failed exchange does not burn a single-use token;
    // the atomic consume still makes sure that of two racing requests only one gets a credential.
    // Remember the jti past the token's exp by a margin, so that clock differences between instances and the
    // store cannot reopen the replay window.
    if (
      replayKey !== undefined &&
      !(await this.#d.store.replay.consume(replayKey, identity.expiresAt + REPLAY_MARGIN_SECONDS))
    ) {
      throw badToken("jwt.replayed", "single-use token was already exchanged");
    }
    return req.requestedTokenType === TOKEN_TYPE.jwt &&
      issued.issuedTokenType === TOKEN_TYPE.accessToken &&
      grant.target.kind === "jwt"
      ? { ...issued, issuedTokenType: TOKEN_TYPE.jwt }
      : issued;
  }

  /** A broker JWT presented back (as subject or actor token) must not be on the deny-list (RFC 7009 §2). */
  async #refuseRevoked(
    id: VerifiedIdentity,
    error: (reason: "jwt.revoked", detail: string) => BrokerError,
  ): Promise<void> {
    const { brokerIssuer, denyList } = this.#d;
    if (id.issuer !== brokerIssuer || !denyList || id.jti === undefined) return;
    if (await denyList.isRevoked(id.jti)) throw error("jwt.revoked", "the token was revoked");
  }

  /**
   * RFC 9449 §4.3 on the proof; and a subject token that is itself DPoP-bound (`cnf.jkt`, §6.1) can only be
   * exchanged with a proof by that same key — a stolen bound token is worth nothing without the key.
   */
  async #checkDpop(req: TokenRequest, identity: VerifiedIdentity): Promise<DpopProof | undefined> {
    let proof: DpopProof | undefined;
    if (req.dpopProof !== undefined) {
      if (!this.#d.dpop)
        throw new BrokerError("invalid_dpop_proof", {
          reason: "dpop.unsupported",
          detail: "DPoP is not enabled",
        });
      proof = await this.#d.dpop.verify(req.dpopProof, "POST");
    }
    const cnf = identity.claims.cnf;
    const bound = typeof cnf === "object" && cnf !== null ? (cnf as Record<string, unknown>).jkt : undefined;
    if (bound !== undefined && bound !== proof?.jkt) {
      throw new BrokerError("invalid_dpop_proof", {
        reason: "dpop.key_mismatch",
        detail: "the subject token is bound to another key than the proof's",
      });
    }
    return proof;
  }

  /** RFC 8693 §2.1 actor_token: verified like a subject token; any failure is 400 invalid_request (CONTRACT §9). */
  async #verifyActor(token: string): Promise<VerifiedIdentity> {
    const asActor = (reason: ActorReason extends `actor.${infer R}` ? R : never, detail: string) =>
      new BrokerError("invalid_request", { reason: `actor.${reason}`, detail: `actor_token: ${detail}` });
    const verification = await this.#d.verifier.check(token);
    if (!verification.ok) {
      const e = verification.error;
      if (e instanceof BrokerError && e.kind === "bad_subject_token" && e.reason.startsWith("jwt."))
        throw asActor(e.reason as Parameters<typeof asActor>[0], e.detail ?? "invalid");
      throw e;
    }
    const actor = verification.identity;
    await this.#refuseRevoked(actor, asActor);
    // draft-ietf-oauth-transaction-tokens §13.12: a Txn-Token authenticates no one, as an actor neither.
    if (actor.issuer === this.#d.brokerIssuer && typeof actor.claims.txn === "string")
      throw asActor("jwt.txn_token_as_subject", "a Transaction Token cannot act for a subject");
    return actor;
  }

  async #rateLimit(grant: Grant, identity: VerifiedIdentity): Promise<void> {
    if (!grant.rateLimit) return;
    const key = `rl\0${grant.policy}\0${identity.provider}\0${identity.subject}`;
    const r = await this.#d.store.rateLimiter.hit(key, grant.rateLimit.requests, grant.rateLimit.per);
    if (!r.allowed) {
      throw new BrokerError("rate_limited", {
        reason: "policy.rate_limited",
        retryAfter: Math.max(1, Math.ceil(r.retryAfter)),
      });
    }
  }

  async #checkReplay(grant: Grant, identity: VerifiedIdentity): Promise<string | undefined> {
    if (!grant.singleUse) return undefined;
    if (identity.jti === undefined) throw badToken("jwt.jti_missing", "single-use policy needs a jti");
    const key = `jti\0${identity.issuer}\0${identity.jti}`;
    if (await this.#d.store.replay.seen(key))
      throw badToken("jwt.replayed", "single-use token was already exchanged");
    return key;
  }
}
