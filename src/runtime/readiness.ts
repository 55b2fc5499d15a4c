import type { ComponentState, Readiness } from "../http/deps.ts";

/** Anything that reports its own state for /readyz. */
interface Reporting<S> {
  status(): S;
}

export interface ReadinessSources {
  policies: Reporting<{ ok: boolean } & object>;
  /** `ready()` false keeps /readyz at 503: no key can sign yet (a KMS public key not fetched). */
  signingKeys: Reporting<{ ok: boolean } & object> & { ready(): boolean };
  store: Reporting<object>;
  providers: () => readonly { name: string; keys: Reporting<object> }[];
  shuttingDown: () => boolean;
}

/**
 * /readyz: ready while the policies are loaded, a key can sign and shutdown has not begun. The store and the
 * providers' key caches are reported, not gating: a Redis outage must not take every instance out of rotation at
 * once, and an issuer's JWKS outage is served from stale keys.
 */
export function createReadiness(s: ReadinessSources): () => Readiness {
  return () => {
    const p = s.policies.status();
    const shuttingDown = s.shuttingDown();
    const components: Record<string, ComponentState> = {
      config: { ok: true },
      policies: { ...p, ok: p.ok },
      signingKeys: { ...s.signingKeys.status() },
      store: { ...s.store.status() } as ComponentState,
      providers: {
        ok: true,
        jwks: Object.fromEntries(s.providers().map((pr) => [pr.name, pr.keys.status()])),
      },
      shutdown: { ok: !shuttingDown },
    };
    return { ready: p.ok && s.signingKeys.ready() && !shuttingDown, components };
  };
}
