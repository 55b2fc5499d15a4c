import { Counter, Gauge, Histogram, Registry } from "prom-client";

/** Prometheus metrics of one broker instance (CONTRACT §2 Operations). A registry per app: no global state. */
export interface Metrics {
  registry: Registry;
  exchanges: Counter<"result" | "provider" | "policy" | "target">;
  exchangeSeconds: Histogram<"result">;
  jwksFetches: Counter<"provider" | "result">;
  jwksKeysRejected: Counter<"provider">;
  policyReloads: Counter<"result">;
  policiesLoaded: Gauge;
  storeErrors: Counter<"operation">;
  /** Database leases (CONTRACT §8), labelled by engine and configured connection name. */
  leasesCreated: Counter<"engine" | "connection">;
  leasesRevoked: Counter<"engine" | "connection" | "by">;
  leaseFailures: Counter<"engine" | "connection" | "operation">;
  leasesActive: Gauge<"engine" | "connection">;
  leaseReaperLag: Gauge<"engine" | "connection">;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  const registers = [registry];
  return {
    registry,
    exchanges: new Counter({
      name: "wif_broker_exchanges_total",
      help: "Token requests by result (allow, or the OAuth error), provider, admitting policy (also when it refused the scope or target) and target audience",
      labelNames: ["result", "provider", "policy", "target"],
      registers,
    }),
    exchangeSeconds: new Histogram({
      name: "wif_broker_exchange_duration_seconds",
      help: "Latency of /token requests",
      labelNames: ["result"],
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    jwksFetches: new Counter({
      name: "wif_broker_jwks_fetches_total",
      help: "Discovery/JWKS fetches by provider and result",
      labelNames: ["provider", "result"],
      registers,
    }),
    jwksKeysRejected: new Counter({
      name: "wif_broker_jwks_keys_rejected_total",
      help: "JWKS keys dropped by validation (degenerate RSA exponent, off-curve EC point, wrong lengths, …)",
      labelNames: ["provider"],
      registers,
    }),
    policyReloads: new Counter({
      name: "wif_broker_policy_reloads_total",
      help: "Policy (re)loads by result",
      labelNames: ["result"],
      registers,
    }),
    policiesLoaded: new Gauge({
      name: "wif_broker_policies_loaded",
      help: "Policies in the serving set",
      registers,
    }),
    storeErrors: new Counter({
      name: "wif_broker_store_errors_total",
      help: "Replay/rate-limit store failures",
      labelNames: ["operation"],
      registers,
    }),
    leasesCreated: new Counter({
      name: "wif_broker_leases_created_total",
      help: "Database logins created",
      labelNames: ["engine", "connection"],
      registers,
    }),
    leasesRevoked: new Counter({
      name: "wif_broker_leases_revoked_total",
      help: "Database logins revoked, by expired (the reaper) or revoke (POST /revoke)",
      labelNames: ["engine", "connection", "by"],
      registers,
    }),
    leaseFailures: new Counter({
      name: "wif_broker_lease_failures_total",
      help: "Lease operations that failed (create, reap, revoke)",
      labelNames: ["engine", "connection", "operation"],
      registers,
    }),
    leasesActive: new Gauge({
      name: "wif_broker_leases_active",
      help: "Lease rows in the database at the reaper's last round",
      labelNames: ["engine", "connection"],
      registers,
    }),
    leaseReaperLag: new Gauge({
      name: "wif_broker_lease_reaper_lag_seconds",
      help: "How long past its expiry the latest lease the reaper revoked was",
      labelNames: ["engine", "connection"],
      registers,
    }),
  };
}
