/** Where `wif-broker exchange` gets this workload's identity token (exactly one per run). */
export type TokenSource =
  | { kind: "file"; path: string }
  | { kind: "env"; name: string }
  | { kind: "github-actions" }
  | { kind: "gcp-metadata" }
  | { kind: "k8s"; path: string };

/** Where `--k8s` reads a projected service-account token unless `--k8s-token-file` says otherwise. */
export const K8S_TOKEN_FILE = "/var/run/secrets/tokens/wif-broker-token";
