import type { Minter } from "../mint/types.ts";
import { ATTR, type SpanEnd, traced } from "../observability/tracing.ts";
import type { DenyList } from "../revocation/deny-list.ts";
import type { ReplayStore } from "../store/types.ts";
import type { ExchangeDeps, Verifier } from "./service.ts";

/**
 * The exchange's dependencies with a span around each stage call (CONTRACT §14): verify, the store operations
 * (replay, rate limit, revocation) and mint. main.ts wires these only when tracing is on, so the exchange code
 * and its untraced path stay as they are; the decision is pure and spans itself (service.ts).
 */
export function tracedExchangeDeps(d: ExchangeDeps): ExchangeDeps {
  return {
    ...d,
    verifier: tracedVerifier(d.verifier),
    store: {
      replay: tracedReplay(d.store.replay),
      rateLimiter: {
        hit: (key, limit, windowSeconds) =>
          storeSpan("rate_limit.hit", () => d.store.rateLimiter.hit(key, limit, windowSeconds)),
      },
    },
    minters: new Map([...d.minters].map(([kind, minter]) => [kind, tracedMinter(minter)])),
    ...(d.denyList ? { denyList: tracedDenyList(d.denyList) } : {}),
  };
}

function tracedVerifier(verifier: Verifier): Verifier {
  return {
    check: (token) =>
      traced(
        "verify",
        {},
        () => verifier.check(token),
        (v): SpanEnd => {
          const provider = v.ok ? v.identity.provider : v.provider?.name;
          return { attributes: { [ATTR.provider]: provider }, ...(v.ok ? {} : { error: v.error }) };
        },
      ),
  };
}

const storeSpan = <T>(operation: string, fn: () => Promise<T>) =>
  traced(`store ${operation}`, { [ATTR.storeOperation]: operation }, fn);

function tracedReplay(replay: ReplayStore): ReplayStore {
  return {
    seen: (key) => storeSpan("replay.seen", () => replay.seen(key)),
    consume: (key, expiresAt) => storeSpan("replay.consume", () => replay.consume(key, expiresAt)),
  };
}

function tracedDenyList(denyList: DenyList): DenyList {
  return {
    revoke: (jti, expiresAt) => denyList.revoke(jti, expiresAt),
    isRevoked: (jti) => storeSpan("revocation.check", () => denyList.isRevoked(jti)),
  };
}

function tracedMinter(minter: Minter): Minter {
  return {
    kind: minter.kind,
    mint: (grant, ctx) =>
      traced("mint", { [ATTR.targetKind]: minter.kind, [ATTR.policy]: grant.policy }, () =>
        minter.mint(grant, ctx),
      ),
  };
}
