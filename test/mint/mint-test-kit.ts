import type { MintContext } from "../../src/mint/types.ts";
import type { Grant } from "../../src/policy/types.ts";

/** What every minter test sets up the same way: a hand-set clock, fast retries and a rendered grant. */

/** The frozen start of every minter test: 2030-01-01T12:00:00Z. */
export const T0 = Date.UTC(2030, 0, 1, 12, 0, 0);
/** Retries without real waiting: the tests count attempts, not delays. */
export const FAST_RETRY = { attempts: 3, baseDelayMs: 1, maxDelayMs: 2 };

/** A clock the test sets by hand (`time.now = T0 + …`), and a MintContext at its current time. */
export function manualClock(start: number = T0) {
  const time = {
    now: start,
    clock: (): number => time.now,
    ctx: (signal: AbortSignal = AbortSignal.timeout(10_000)): MintContext => ({
      requestId: "r1",
      signal,
      now: time.now,
    }),
  };
  return time;
}

/** A grant for `target` as a matched policy renders it: `github:acme/app` from GitHub, 900 s, reusable. */
export function grantFor(target: Grant["target"], over: Partial<Grant> = {}): Grant {
  return {
    policy: "acme-deploy",
    provider: "github",
    subject: "github:acme/app",
    claims: {},
    scopes: [],
    ttl: 900,
    target,
    singleUse: false,
    rateLimit: undefined,
    ...over,
  };
}
